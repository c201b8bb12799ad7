"""Loopback test doubles of the Kubernetes API and of KubeFATE (`python -m sandbox up|down|status`).

Nothing here is a real cluster or a real KubeFATE: these emulators exist so that the rollout can
be exercised end to end by tests, molecule and `make demo`. See sandbox/README.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Sandbox, Site

__all__ = ["Sandbox", "Site"]


def __getattr__(name: str) -> Any:
    """Import the emulators on first use, so that `python -m sandbox status|down` starts fast."""
    if name in __all__:
        from . import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
