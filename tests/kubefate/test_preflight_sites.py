"""site.yml on the sandbox with a bad site, a bad CA passphrase, or --limit: preflight stops every envoy
it should, the recap shows each as failed, nothing is created; --limit names the envoys not checked."""

from __future__ import annotations

import re

from kubefate_support import finish, rollout


def recap(out: str) -> dict[str, int]:
    return {
        m[1]: int(m[2])
        for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=(\d+)", out, re.M)
    }


def test_restricted_identity_stops_every_envoy_before_any_change(make_kf_site, sandbox, kube, tmp_path):
    site = make_kf_site(2, prefix="sites-ro", openfl_k8s_kubeconfig=str(sandbox.viewer_kubeconfig))
    rc, out = finish(rollout(site, tmp_path))
    assert rc != 0
    assert recap(out) == {"sites-ro-1": 1, "sites-ro-2": 1}
    assert "site group sandbox (sites-ro-1, sites-ro-2): the identity of context 'sandbox'" in out
    assert "may not create namespaces" in out
    assert kube.namespace("openfl-sites-ro-1") is None and kube.namespace("openfl-sites-ro-2") is None
    assert not (site.pki_dir / "ca").exists()


def test_limit_rolls_out_one_envoy_and_names_the_other_as_not_checked(make_kf_site, kube, tmp_path):
    site = make_kf_site(2, prefix="sites-lim", openfl_ca_passphrase="right")
    site.host_vars["sites-lim-1"]["openfl_envoy_image_tag"] = "bad tag!"
    rc, out = finish(rollout(site, tmp_path, "--limit", "sites-lim-2"))
    assert rc == 0, out[-3000:]
    assert "not checked: sites-lim-1 (outside this run, e.g. --limit)" in out
    assert kube.namespace("openfl-sites-lim-2") is not None and kube.namespace("openfl-sites-lim-1") is None


def test_a_ca_failure_fails_every_envoy_it_blocks(make_kf_site, tmp_path):
    site = make_kf_site(2, prefix="sites-ca", openfl_ca_passphrase="right")
    (site.pki_dir / "ca").mkdir(parents=True)
    (site.pki_dir / "ca" / "root_ca.key").write_text("half a CA\n")
    # Past preflight (which reports this CA too), so that the pki stage's own failure is what stops the run.
    rc, out = finish(rollout(site, tmp_path, "-e", "envoy_preflight_check_sites=false"))
    assert rc != 0
    assert recap(out) == {"sites-ca-1": 1, "sites-ca-2": 1}
    assert "sites-ca-2: not done: the CA step failed: " in out and "incomplete CA" in out
