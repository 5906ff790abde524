#!/usr/bin/env bash
# Install ClassMentor in a virtual environment and run it: `scripts/run.sh run` (needs
# DISCORD_TOKEN), `scripts/run.sh check` (validate the set-up, print the invite URL) or
# `scripts/run.sh demo` (no token, offline). Extra arguments go to `classmentor`.
# It (re)installs only on the first run or when pyproject.toml changed; pip's output goes to
# .venv/install.log and is shown only if the install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed-pyproject
if [ ! -x .venv/bin/classmentor ] || ! cmp -s pyproject.toml "$stamp"; then
    echo "Installing ClassMentor into .venv (first run or pyproject.toml changed)..." >&2
    [ -d .venv ] || python3 -m venv .venv
    if ! { .venv/bin/python -m pip install --upgrade pip \
            && .venv/bin/python -m pip install -e .; } >.venv/install.log 2>&1; then
        cat .venv/install.log >&2
        echo "Install failed (log above, also in .venv/install.log)." >&2
        exit 1
    fi
    cp pyproject.toml "$stamp"
fi
if [ ! -f config.toml ]; then
    cp config.example.toml config.toml
    echo "Created config.toml from config.example.toml (every setting has a default)." >&2
fi
exec .venv/bin/classmentor "${@:-run}"
