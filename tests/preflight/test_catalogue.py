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
from catalogue_support import message_line

PARAMS = [
    pytest.param(case, id=case.id, marks=[pytest.mark.xfail(reason=case.xfail, strict=False)] if case.xfail else [])
    for case in CASES
]


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
