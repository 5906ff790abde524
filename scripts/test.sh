#!/usr/bin/env bash
# Install ClassMentor with its dev tools in a virtual environment (again only when pyproject.toml
# changed), then lint, type-check and run the whole test suite (three workers, see pyproject's
# addopts). Any failure (including "no tests collected") fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed-pyproject-dev
if [ ! -x .venv/bin/pytest ] || ! cmp -s pyproject.toml "$stamp"; then
    echo "Installing ClassMentor and its dev tools into .venv..." >&2
    [ -d .venv ] || python3 -m venv .venv
    if ! { .venv/bin/python -m pip install --upgrade pip \
            && .venv/bin/python -m pip install -e ".[dev]"; } >.venv/install.log 2>&1; then
        cat .venv/install.log >&2
        echo "Install failed (log above, also in .venv/install.log)." >&2
        exit 1
    fi
    cp pyproject.toml "$stamp"
fi
# The dashboard's browser tests drive the distribution's headless Chromium (Playwright's own
# browser download is not used): its headless shell, which needs less than half the CPU of the
# full browser; installed once when missing (CI runs as root with apt reachable). Without root,
# an installed full Chromium does the same job, slower.
if ! [ -x /usr/lib/chromium/chromium-headless-shell ] \
        && ! command -v chromium-headless-shell >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "Installing Chromium's headless shell for the browser tests..." >&2
        { apt-get update && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y chromium-headless-shell; } \
            >/tmp/classmentor-chromium-install.log 2>&1 \
            || { cat /tmp/classmentor-chromium-install.log >&2; exit 1; }
    elif ! [ -x /usr/lib/chromium/chromium ] && ! command -v chromium >/dev/null 2>&1; then
        echo "Chromium is missing: run 'sudo apt-get install chromium-headless-shell'" \
            "(Debian/Ubuntu)." >&2
        exit 1
    fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy bot cogs db
.venv/bin/mypy tests bench
# The PostgreSQL tests start a server from the machine's binaries (tests/postgres.py); here a
# missing server fails the run instead of skipping those tests.
export CLASSMENTOR_REQUIRE_POSTGRES=1
# Every test process (three workers, the bot processes the e2e tests start, the fresh-interpreter
# layer check) imports the project again: let Python keep its bytecode (some machines turn it
# off globally), ~8 % of the suite's CPU.
unset PYTHONDONTWRITEBYTECODE
# pytest exits 5 when it collects nothing; with `set -e` that fails the run, as it should.
.venv/bin/pytest -q
