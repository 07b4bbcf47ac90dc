"""The documentation site works offline: built as `make docs` builds it, no page loads a script, a style sheet,
a font or an image from another host, and every equation is MathML written at build time (no MathJax)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("latex2mathml")
from scripts.mkdocs_math import MathError, render_equations, to_mathml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""")


class Resources(HTMLParser):
    """The addresses a page loads: script sources, linked files (style sheets, icons, preloads), images,
    and the url()s of its inline styles; plus the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ("script", "img", "source", "iframe") and values.get("src"):
            self.urls.append(values["src"])
        if tag == "link" and values.get("href") and values.get("rel", "") not in ("canonical", "next", "prev"):
            self.urls.append(values["href"])
        self.urls += [match.group(1) or match.group(2) for match in CSS_URL.finditer(values.get("style", ""))]
        self._in = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.inline_scripts.append(data)
        elif self._in == "style":
            self.urls += [match.group(1) or match.group(2) for match in CSS_URL.finditer(data)]

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def is_remote(url: str) -> bool:
    """Whether loading ``url`` from a page of the site would reach another host."""
    parsed = urlparse(urljoin("file:///site/page/index.html", url.strip()))
    return parsed.scheme not in ("file", "data") or bool(parsed.netloc)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built from the checkout with ``mkdocs build --strict`` (as `make docs`)."""
    site_dir = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    built = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=environment, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    return site_dir


def test_is_remote_tells_other_hosts_from_the_site() -> None:
    remote = ["https://unpkg.com/mathjax@3/es5/tex-mml-chtml.js", "//fonts.googleapis.com/css", "http://x.org/a.css"]
    local = ["../assets/main.css", "/assets/bundle.js", "data:image/svg+xml;charset=utf-8,<svg/>", "extra.css"]
    assert all(map(is_remote, remote)) and not any(map(is_remote, local))


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 20
    remote: list[str] = []
    for page in pages:
        resources = Resources()
        resources.feed(page.read_text())
        remote += [f"{page.relative_to(site)}: {url}" for url in resources.urls if is_remote(url)]
        for script in resources.inline_scripts:  # e.g. a script that adds a <script> or a font at run time
            remote += [
                f"{page.relative_to(site)}: {url}" for url in re.findall(r"(?:https?:)?//[\w.-]+\.\w+/\S*", script)
            ]
    for sheet in sorted(site.rglob("*.css")):
        urls = [match.group(1) or match.group(2) for match in CSS_URL.finditer(sheet.read_text())]
        remote += [f"{sheet.relative_to(site)}: {url}" for url in urls if is_remote(url)]
    assert remote == []


def test_equations_are_mathml_in_the_built_pages(site: Path) -> None:
    theory = (site / "agents" / "theory" / "index.html").read_text()
    equations = re.findall(r'<(?:span|div) class="arithmatex">(.*?)</(?:span|div)>', theory, flags=re.DOTALL)
    assert len(equations) >= 10
    assert all(equation.startswith("<math") for equation in equations)
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in theory
    leftover = [page.relative_to(site) for page in site.rglob("*.html") if 'class="arithmatex">\\(' in page.read_text()]
    assert leftover == []
    # a command latex2mathml does not know stays as its raw text (e.g. \lceil after \Big): none may be left
    mathml = [match for page in site.rglob("*.html") for match in re.findall(r"<math[\s\S]*?</math>", page.read_text())]
    assert len(mathml) >= 50
    raw = sorted({text for equation in mathml for text in re.findall(r">([^<]*\\[^<]*)<", equation)})
    assert raw == []


def test_render_equations_converts_inline_and_display_and_names_a_bad_one() -> None:
    page = (
        '<p>a <span class="arithmatex">\\(x &lt; \\frac{1}{2}\\)</span></p><div class="arithmatex">\\[\ny_i\n\\]</div>'
    )
    rendered = render_equations(page)
    assert '<span class="arithmatex"><math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in rendered
    assert "<mo>&#x0003C;</mo>" in rendered and "<mfrac>" in rendered  # the escaped < read as <
    assert '<div class="arithmatex"><math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in rendered
    assert "<msub><mi>y</mi><mi>i</mi></msub>" in rendered
    assert "\\arg" not in to_mathml("\\arg\\max_j x_j", display=False)  # spelled out: arg, upright
    with pytest.raises(MathError, match=r"cannot convert the equation 'x\^' to MathML \(MissingSuperScriptOrSubscript"):
        to_mathml("x^", display=False)
