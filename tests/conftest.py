"""Shared pytest set-up: import paths for the collection and the sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "collections"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
