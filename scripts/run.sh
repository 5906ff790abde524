#!/usr/bin/env bash
# Install ClassMentor in a virtual environment and run it: `scripts/run.sh run` (needs
# DISCORD_TOKEN) or `scripts/run.sh demo` (no token, offline). Extra arguments go to `classmentor`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
[ -f config.toml ] || cp config.example.toml config.toml
exec .venv/bin/classmentor "${@:-run}"
