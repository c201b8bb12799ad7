"""Shared pytest set-up: import paths for the collection and the sandbox, and the sandbox fixtures."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "collections"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

if TYPE_CHECKING:
    from sandbox import Sandbox


@pytest.fixture(scope="session", autouse=True)
def children_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The temporary files of the processes the tests start in the session's own directory, not /tmp:
    kubernetes.core leaves a discovery cache (k8srcp-*.json) per API server, and every sandbox has its own port.
    """
    path = tmp_path_factory.mktemp("children-tmp")
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(path)
    yield path
    if previous is None:
        del os.environ["TMPDIR"]
    else:
        os.environ["TMPDIR"] = previous


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A started `sandbox.Sandbox` (one site, `sandbox`) shared by the whole test session.

    It runs the Kubernetes and KubeFATE test doubles in threads; `sandbox.kubeconfig` is its
    kubeconfig and `sandbox.sites["sandbox"]` its URLs and credentials. Tests keep apart by using
    their own namespace (`namespace_name`).
    """
    from sandbox import Sandbox

    with Sandbox(tmp_path_factory.mktemp("sandbox-state"), sites=("sandbox",)) as started:
        yield started


@pytest.fixture
def namespace_name() -> str:
    """A fresh namespace name no other test uses (the namespace is not created)."""
    return f"t-{uuid.uuid4().hex[:12]}"
