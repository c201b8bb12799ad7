"""Fixtures for the role tests on the sandbox (helpers live in k8s_roles_support.py)."""

from __future__ import annotations

import itertools
import re

import pytest
from k8s_roles_support import Cluster, Site

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def kubeconfig(sandbox) -> str:
    return str(sandbox.kubeconfig)


@pytest.fixture(scope="session")
def cluster(kubeconfig) -> Cluster:
    return Cluster(kubeconfig)


@pytest.fixture
def make_site(tmp_path, kubeconfig, request):
    """make_site(n=2, prefix=...) -> a Site with n fresh, uniquely named envoys."""

    def factory(n: int = 2, prefix: str | None = None) -> Site:
        stem = prefix or re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:30].strip("-")
        envoys = [f"{stem}-{next(_counter)}" for _ in range(n)]
        return Site(tmp=tmp_path, kubeconfig=kubeconfig, envoys=envoys).setup()

    return factory
