"""`python -m bot` is the same as the `classmentor` command."""

import sys

from bot.cli import main

sys.exit(main())
