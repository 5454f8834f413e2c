"""``python -m venice_nb.classroom``: the teacher's gateway and ledger commands (see ``cli``)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
