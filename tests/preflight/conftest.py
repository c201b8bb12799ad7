# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the preflight catalogue: the session's sandbox as endpoints, a CA key made at test
time, and the catalogue run once for the session (parallel cases in a thread pool, then the cases
that change the shared sandbox one by one), each test then asserting on its case's outcome."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import CASES, Case
from catalogue_support import (
    DEFAULT_KNOBS,
    Endpoints,
    Observer,
    Pki,
    Run,
    base_inventory,
    configure,
    differences,
    files_under,
    run_site,
)

# Three ansible-playbook processes at once: on 2 cores a preflight run is mostly Ansible's start-up.
WORKERS = 3


@dataclass
class Outcome:
    case: Case
    run: Run
    changes: list[str]
    who: str


@dataclass
class Catalogue:
    outcomes: dict[str, Outcome]
    batch_changes: list[str]
    seconds: float
    temp: str  # pytest's base temp dir, left out of the table's paths


@pytest.fixture(scope="session")
def endpoints(sandbox) -> Endpoints:
    site = sandbox.sites["sandbox"]
    return Endpoints(
        sandbox.kubeconfig,
        sandbox.viewer_kubeconfig,
        site.kube_url,
        site.kube_token,
        site.kubefate_url,
        site.kubefate_username,
        site.kubefate_password,
    )


@pytest.fixture(scope="session")
def observer(endpoints) -> Observer:
    return Observer(endpoints)


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()


def selected_cases(session: pytest.Session) -> list[Case]:
    """Only the cases whose tests were collected (so `-k` runs a few)."""
    wanted = set()
    for item in session.items:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if "case" in params:
            wanted.add(params["case"].id)
    return [case for case in CASES if case.id in wanted]


def alone(case: Case) -> bool:
    """Cases that change the shared sandbox (a knob) run alone."""
    return case.knobs is not None


def run_case(case: Case, index: int, tmp: Path, endpoints: Endpoints, pki: Pki) -> tuple[Run, list[str], str, str]:
    """Build the case's inventory and baseline, run site.yml, and list what changed in its files."""
    tmp.mkdir(parents=True)
    inv = base_inventory(tmp, f"pf{index:02d}", endpoints)
    case.edit(inv, pki)
    inv.write()
    before = files_under(inv.pki_dir, inv.artifacts_dir)
    run = run_site(inv)
    after = files_under(inv.pki_dir, inv.artifacts_dir)
    changed = [
        f"file {path}: {before.get(path, '(absent)')} -> {after.get(path, '(absent)')}"
        for path in sorted(set(before) | set(after))
        if before.get(path) != after.get(path)
    ]
    return run, changed, case.who(inv), inv.token


@pytest.fixture(scope="session")
def catalogue(request, endpoints, observer, pki, tmp_path_factory) -> Catalogue:
    cases = selected_cases(request.session)
    index = {case.id: n for n, case in enumerate(CASES, 1)}
    root = tmp_path_factory.mktemp("catalogue")
    outcomes: dict[str, Outcome] = {}
    started = time.monotonic()

    def one(case: Case) -> tuple[Case, tuple]:
        return case, run_case(case, index[case.id], root / case.id, endpoints, pki)

    before = observer.state()
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(one, [c for c in cases if not alone(c)]))
    after = observer.state()
    for case, (run, files, who, token) in results:
        outcomes[case.id] = Outcome(case, run, differences(before, after, token, alone=False) + files, who)
    batch_changes = differences(before, after, None)
    for case in filter(alone, cases):
        configure(endpoints, case.knobs or {})
        try:
            before = observer.state()
            _, (run, files, who, token) = one(case)
            outcomes[case.id] = Outcome(case, run, differences(before, observer.state(), token) + files, who)
        finally:
            configure(endpoints, DEFAULT_KNOBS)
    catalogue = Catalogue(outcomes, batch_changes, time.monotonic() - started, str(tmp_path_factory.getbasetemp()))
    if os.environ.get("PREFLIGHT_TABLE"):
        Path(os.environ["PREFLIGHT_TABLE"]).write_text(table(catalogue))
    return catalogue


def first_error(out: str) -> str:
    """For a case no line reports as asked: what the run said first instead."""
    said = next((line.strip() for line in out.splitlines() if line.startswith(("fatal:", "[ERROR]"))), "nothing")
    return f"(no line names it; first error: {said})"


def table(catalogue: Catalogue) -> str:
    """The closing note's table: case -> the message that reported it (or what went wrong)."""
    from catalogue_support import message_line

    lines = [
        f"{len(catalogue.outcomes)} cases in {catalogue.seconds:.0f} s wall time ({WORKERS} at once).",
        "",
        "| case | group | exit | s | message |",
        "|---|---|---|---:|---|",
    ]
    for case in CASES:
        outcome = catalogue.outcomes.get(case.id)
        if outcome is None:
            continue
        line = message_line(outcome.run.out, outcome.who, case.what) or first_error(outcome.run.out)
        if outcome.changes:
            line += f" **changed: {len(outcome.changes)}**"
        cell = line.replace(catalogue.temp + "/", "").replace("catalogue0/", "").replace("|", "\\|")[:300]
        lines.append(f"| {case.id} | {case.group} | {outcome.run.rc} | {outcome.run.seconds:.0f} | {cell} |")
    return "\n".join(lines) + "\n"
