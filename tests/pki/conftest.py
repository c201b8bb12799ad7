"""Fixtures of the playbook-level PKI tests (helpers live in pki_helpers.py)."""

from __future__ import annotations

import pytest
from pki_helpers import Site, make_site


@pytest.fixture
def site(tmp_path) -> Site:
    return make_site(tmp_path / "site")


@pytest.fixture(scope="module")
def issued_site(tmp_path_factory) -> Site:
    """A site whose PKI was built once by the roles (shared by the read-only tests of a module)."""
    site = make_site(tmp_path_factory.mktemp("issued") / "site")
    run = site.run()
    assert run.rc == 0, run.stdout + run.stderr
    return site
