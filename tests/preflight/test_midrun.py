# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What preflight cannot catch (a fault that appears mid-run) fails the run, and the re-run converges;
and `--limit` rolls out the envoys it names while saying which envoys were not checked."""

from __future__ import annotations

import os
import shutil

from catalogue_support import (
    DEFAULT_KNOBS,
    api_down_kubeconfig,
    base_inventory,
    configure,
    message_line,
    run_site,
)

REGISTERED = "2 of 2 envoys registered."


def converged(inv, observer) -> None:
    """A re-run succeeds, every envoy registered with one KubeFATE cluster."""
    run = run_site(inv)
    assert run.rc == 0 and REGISTERED in run.out, run.out[-3000:]
    clusters = observer.state()["kubefate clusters"]
    for envoy in inv.all_envoys:
        assert len([key for key in clusters if f"/{envoy}/" in key and "Running" in clusters[key]]) == 1, clusters


def test_kubefate_jobs_timing_out_mid_run_fail_it_and_the_re_run_converges(endpoints, observer, tmp_path):
    inv = base_inventory(tmp_path, "pfjob", endpoints)
    configure(endpoints, {"job_latency": 2.0, "job_time_limit": 1.0})
    try:
        run = run_site(inv)
    finally:
        configure(endpoints, DEFAULT_KNOBS)
    assert run.rc != 0, run.out[-3000:]
    assert message_line(run.out, inv.envoy(1), "job|Failed|Timeout"), run.out[-3000:]
    converged(inv, observer)


def test_the_kubernetes_api_going_away_mid_run_fails_it_and_the_re_run_converges(endpoints, observer, tmp_path):
    """The site's kubeconfig points at a dead API once the Kubernetes objects exist (charts stage)."""
    inv = base_inventory(tmp_path, "pfapi", endpoints)
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(endpoints.kubeconfig, kubeconfig)
    inv.sites[inv.site]["openfl_k8s_kubeconfig"] = str(kubeconfig)
    down = api_down_kubeconfig(inv)

    def api_goes_away(line: str) -> None:
        if line.startswith("PLAY [KubeFATE | upload the envoy chart]"):
            os.replace(shutil.copy(down, tmp_path / "kubeconfig.new"), kubeconfig)

    run = run_site(inv, watch=api_goes_away)
    assert run.rc != 0, run.out[-3000:]
    assert "127.0.0.1:9" in run.out, run.out[-3000:]
    shutil.copy(endpoints.kubeconfig, kubeconfig)
    converged(inv, observer)


def test_limit_rolls_out_the_named_envoy_and_says_the_broken_one_was_not_checked(endpoints, observer, tmp_path):
    inv = base_inventory(tmp_path, "pflimit", endpoints)
    broken, good = inv.envoy(1), inv.envoy(2)
    inv.host_vars[broken]["openfl_director_port"] = 70000
    run = run_site(inv, "--limit", good)
    assert run.rc == 0, run.out[-3000:]
    assert "1 of 1 envoys registered." in run.out, run.out[-3000:]
    assert message_line(run.out, broken, "not checked"), run.out[-3000:]
    clusters = observer.state()["kubefate clusters"]
    assert [key for key in clusters if f"/{good}/" in key] and not [key for key in clusters if f"/{broken}/" in key]
    # The broken envoy still stops a run that includes it.
    assert run_site(inv).rc != 0
