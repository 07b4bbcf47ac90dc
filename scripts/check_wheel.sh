#!/usr/bin/env bash
# The wheel as users get it: build the sdist and, from it, the wheel; `twine check` both; install the
# wheel with the tested versions (constraints.txt, torch pinned) into a fresh virtual environment; run
# tests/smoke_installed.py there from a folder outside the checkout. Exits non-zero on any failure.
#
# Usage: scripts/check_wheel.sh   (PY: the dev environment's python, with build and twine;
#                                  PYTHON: the interpreter that makes the fresh environment)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/seqreward-wheel.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
start=$SECONDS

# Without --sdist/--wheel, build makes the sdist and then the wheel from the unpacked sdist, so a file the
# sdist lacks breaks the wheel too. The build backend (setuptools) is taken at its pinned version.
if ! PIP_CONSTRAINT="$ROOT/constraints.txt" "$PY" -m build --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log"
    echo "check_wheel: building the sdist and the wheel failed" >&2
    exit 1
fi
wheels=("$WORK"/dist/*.whl)
sdists=("$WORK"/dist/*.tar.gz)
echo "built $(basename "${wheels[0]}") and $(basename "${sdists[0]}") in $((SECONDS - start)) s"
"$PY" -m twine check --strict "${wheels[0]}" "${sdists[0]}"

mkdir "$WORK/sdist"
tar -xzf "${sdists[0]}" -C "$WORK/sdist"
unpacked=("$WORK"/sdist/*/)

step=$SECONDS
"$PYTHON" -m venv "$WORK/venv"
# --no-compile: byte code is only a cache (Python writes it on first import); compiling all of torch's
# modules at install time tripled the install's time here.
"$WORK/venv/bin/python" -m pip install --quiet --no-compile -c "$ROOT/constraints.txt" "${wheels[0]}"
echo "installed the wheel in a fresh environment in $((SECONDS - step)) s"

# -I: neither the checkout nor the script's folder (tests/, whose agents/ would shadow the package) is
# on sys.path, and no PYTHON* variable reaches the interpreter.
mkdir "$WORK/run"
cd "$WORK/run"
"$WORK/venv/bin/python" -I "$ROOT/tests/smoke_installed.py" --source "$ROOT" --sdist "${unpacked[0]}"
echo "check_wheel: passed in $((SECONDS - start)) s"
