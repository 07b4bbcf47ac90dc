"""MkDocs hook: the documentation's equations become MathML when the site is built, so that a page shows
them with no script and no network (browsers render MathML Core natively).

``pymdownx.arithmatex`` (``generic: true``) leaves each equation as its LaTeX in
``<span class="arithmatex">\\( ... \\)</span>`` (inline) or ``<div class="arithmatex">\\[ ... \\]</div>``
(display); ``on_page_content`` replaces each with ``latex2mathml``'s ``<math>`` element. An equation that
latex2mathml cannot read fails the build, naming the page and the equation.

Used from mkdocs.yml: ``hooks: [scripts/mkdocs_math.py]``.
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

# arithmatex's generic output: the LaTeX, HTML-escaped, between \( \) (inline) or \[ \] (display).
EQUATION = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*\\(?P<open>[(\[])(?P<latex>.*?)\\[)\]]\s*</(?P=tag)>', re.DOTALL
)


# LaTeX operator names latex2mathml leaves as their raw text, spelled in commands it reads.
SPELLED_OUT = {"arg": r"\mathrm{arg}\,"}
OPERATOR_NAME = re.compile(r"\\(" + "|".join(SPELLED_OUT) + r")(?![A-Za-z])")


class MathError(ValueError):
    """An equation that could not be converted to MathML."""


def to_mathml(latex: str, *, display: bool) -> str:
    """One equation's LaTeX (without its delimiters) as a ``<math>`` element, ``display="block"`` when
    ``display``; raises ``MathError`` naming the equation if latex2mathml cannot read it."""
    readable = OPERATOR_NAME.sub(lambda match: SPELLED_OUT[match.group(1)], latex.strip())
    try:
        return convert(readable, display="block" if display else "inline")
    except Exception as error:  # latex2mathml raises several types, none of them shared
        raise MathError(
            f"cannot convert the equation {latex.strip()!r} to MathML ({type(error).__name__} {error})"
        ) from error


def render_equations(page_html: str) -> str:
    """``page_html`` with every arithmatex equation replaced by its MathML (in a ``span`` or ``div`` of class
    ``arithmatex``, as before, so the theme's styles still apply)."""

    def replace(match: re.Match[str]) -> str:
        display = match.group("open") == "["
        mathml = to_mathml(html.unescape(match.group("latex")), display=display)
        return f'<{match.group("tag")} class="arithmatex">{mathml}</{match.group("tag")}>'

    return EQUATION.sub(replace, page_html)


def on_page_content(html_content: str, page: Any, **_: Any) -> str:
    """MkDocs' hook on a page's HTML body."""
    try:
        return render_equations(html_content)
    except MathError as error:
        raise MathError(f"{page.file.src_path}: {error}") from error
