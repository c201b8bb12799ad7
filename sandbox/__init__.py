"""Loopback test doubles of the Kubernetes API and of KubeFATE (`python -m sandbox up|down|status`).

Nothing here is a real cluster or a real KubeFATE: these emulators exist so that the rollout can
be exercised end to end by tests, molecule and `make demo`. See sandbox/README.md.
"""

from __future__ import annotations

from .core import Sandbox, Site

__all__ = ["Sandbox", "Site"]
