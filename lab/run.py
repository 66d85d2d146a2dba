#!/usr/bin/python3
"""bbml2-lab runner: render, validate, run and parse LAVA jobs (see README.md).

Always run with Debian's /usr/bin/python3 (lava_common, jinja2, voluptuous).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bbml2lab.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
