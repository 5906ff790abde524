#!/usr/bin/env bash
# Install ClassMentor with its dev tools in a fresh virtual environment, then lint, type-check and
# run the whole test suite. Any failure (including "no tests collected") fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy bot cogs db
# pytest exits 5 when it collects nothing; with `set -e` that fails the run, as it should.
.venv/bin/pytest -q
