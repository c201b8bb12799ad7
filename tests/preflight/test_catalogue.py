# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 11's acceptance catalogue: every bad input, run through site.yml on the session's sandbox,
stops the run with a message naming the envoy (or site, or file) and the field, before anything is
created or changed for any envoy, and every envoy ends failed in the recap.

`PREFLIGHT_TABLE=<file> pytest tests/preflight` also writes the table case -> message, with the wall
time, for the closing note."""

from __future__ import annotations

import pytest
from cases import CASES
from catalogue_support import base_inventory, message_line, run_site

PARAMS = [pytest.param(case, id=case.id) for case in CASES]


def test_the_catalogue_has_at_least_35_cases_of_every_kind():
    assert len(CASES) >= 35
    assert len({case.id for case in CASES}) == len(CASES)
    assert {case.group for case in CASES} >= {"envoy", "kubernetes", "kubefate", "chart", "pki", "inventory"}


@pytest.mark.parametrize("case", PARAMS)
def test_bad_input_stops_the_run_before_any_change(case, catalogue):
    outcome = catalogue.outcomes[case.id]
    out = outcome.run.out
    assert outcome.run.rc != 0, out[-3000:]
    assert message_line(out, outcome.who, case.what), f"no line names {outcome.who!r} and {case.what!r}:\n{out[-3000:]}"
    assert outcome.changes == [], "\n".join(outcome.changes)
    # Every envoy the fault blocks ends failed in the recap, not only the host a shared step ran on.
    recap = outcome.run.recap()
    assert recap and all(failed for _changed, failed in recap.values()), recap


def test_the_parallel_cases_changed_nothing_on_the_sandbox(catalogue):
    """Whatever no case's envoy names (a shared namespace, kube-system, a chart) is unchanged too."""
    assert catalogue.batch_changes == []


def test_a_refused_kubefate_login_is_tried_once_per_site(sandbox, endpoints, tmp_path):
    """Two envoys on a site whose KubeFATE password is wrong: one login request, no retry storm."""
    inv = base_inventory(tmp_path, "pflogin", endpoints)
    inv.sites[inv.site]["openfl_kubefate_password"] = "not-the-password"
    before = sandbox.stats()["kubefate_requests"]["total"]
    run = run_site(inv)
    assert run.rc != 0 and message_line(run.out, inv.site, "openfl_kubefate_password"), run.out[-3000:]
    assert sandbox.stats()["kubefate_requests"]["total"] - before == 1


def test_every_bad_site_is_reported_at_once(endpoints, tmp_path):
    inv = base_inventory(tmp_path, "pfsites", endpoints, envoys=3)
    other = f"{inv.token}_other_site"
    inv.sites[other] = dict(inv.sites[inv.site], openfl_kubefate_url="http://127.0.0.1:9")
    inv.hosts[other] = [inv.hosts[inv.site].pop()]
    inv.sites[inv.site]["openfl_k8s_context"] = "no-such-context"
    run = run_site(inv)
    assert run.rc != 0
    assert message_line(run.out, inv.site, "openfl_k8s_context"), run.out[-3000:]
    assert message_line(run.out, other, "openfl_kubefate_url"), run.out[-3000:]
    assert all(failed for _changed, failed in run.recap().values()), run.recap()
