"""Real OpenFL on the sandbox: a real director and real envoy processes (`Sandbox(envoys="real")`).

Markers: `openfl` (needs the OpenFL virtualenv, `make openfl-venv`; skipped without it) and
`openfl16` (the second supported version, `make openfl-1.6-test`; skipped without .venv-openfl-1.6).
Select them with `pytest -m openfl` / `-m openfl16`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "openfl: runs a real OpenFL director and real envoys (needs .venv-openfl)")
    config.addinivalue_line("markers", "openfl16: the same with OpenFL 1.6 (needs .venv-openfl-1.6)")
