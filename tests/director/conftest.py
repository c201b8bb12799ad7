"""The director from the same inventory: tests/openfl's helpers (marker `openfl`, real OpenFL)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "openfl"))


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "openfl: runs a real OpenFL director and real envoys (needs .venv-openfl)")
