"""Roles envoy_preflight, envoy_namespace and envoy_configmap against the sandbox (issue 6 acceptance)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from k8s_roles_support import make_envoy_cert

MANAGED_BY = ("app.kubernetes.io/managed-by", "openfl-envoy-deploy")
CREATED_BY = "openfl.envoy/created-by"
SECRET_KEYS = {"envoy.crt", "priv.key", "root_ca.crt"}


def assert_ok(run, hosts):
    assert run.rc == 0, run.output[-4000:]
    for host in hosts:
        assert run.failed(host) == 0, run.output[-4000:]


def assert_objects(cluster, site, envoy):
    """Namespace, secret and configmap exist with exactly the expected keys and contents."""
    namespace = site.namespace(envoy)
    ns = cluster.namespace(namespace)
    assert ns is not None, f"namespace {namespace} missing"
    labels = ns.metadata.labels or {}
    assert labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
    assert labels.get("openfl.envoy/name") == envoy
    assert (ns.metadata.annotations or {}).get(CREATED_BY) == "openfl-envoy-deploy"

    secret = cluster.secret(namespace)
    assert secret.type == "Opaque"
    pki = site.pki_dir / "envoys" / envoy
    assert cluster.secret_files(namespace) == {key: (pki / key).read_bytes() for key in SECRET_KEYS}

    configmap = cluster.configmap(namespace)
    pydir = site.python_dir(envoy)
    assert configmap.data == {p.name: p.read_text() for p in pydir.iterdir()}


def assert_nothing_created(cluster, site, envoy):
    assert cluster.namespace(site.namespace(envoy)) is None, f"namespace of {envoy} was created"


# --- the acceptance items ---------------------------------------------------------------------------


def test_run_creates_objects_and_second_run_changes_nothing(make_site, cluster):
    site = make_site(3)
    first = site.run()
    assert_ok(first, site.envoys)
    for envoy in site.envoys:
        assert first.changed(envoy) >= 1
        assert_objects(cluster, site, envoy)

    second = site.run()
    assert_ok(second, site.envoys)
    assert {site.envoys[i]: second.changed(e) for i, e in enumerate(site.envoys)} == dict.fromkeys(site.envoys, 0)


def test_check_mode_on_fresh_cluster_reports_changes_and_creates_nothing(make_site, cluster):
    site = make_site(2)
    run = site.run("--check", "--diff")
    assert_ok(run, site.envoys)
    for envoy in site.envoys:
        assert run.changed(envoy) >= 2  # namespace+secret, configmap
        assert_nothing_created(cluster, site, envoy)


def test_check_mode_after_a_run_predicts_no_change(make_site):
    site = make_site(1)
    assert_ok(site.run(), site.envoys)
    run = site.run("--check", "--diff")
    assert_ok(run, site.envoys)
    assert run.changed(site.envoys[0]) == 0


def secret_texts(site, envoy):
    """Every representation of the private key (and the other files) that must never be printed."""
    pki = site.pki_dir / "envoys" / envoy
    key = (pki / "priv.key").read_bytes()
    body = [line for line in key.decode().splitlines() if line and not line.startswith("-----")]
    return [base64.b64encode(key).decode()[:40], *body], hashlib.sha256(key).hexdigest()


@pytest.mark.parametrize("check", [True, False], ids=["check-diff", "diff"])
def test_diff_never_prints_secret_values(make_site, check):
    site = make_site(1)
    envoy = site.envoys[0]
    args = ("--diff", "--check") if check else ("--diff",)
    run = site.run(*args, "-v")
    assert_ok(run, site.envoys)
    forbidden, fingerprint = secret_texts(site, envoy)
    for text in forbidden:
        assert text not in run.output
    # the diff is still truthful: key names and fingerprints of the new values
    assert f"sha256:{fingerprint}" in run.stdout
    assert "priv.key" in run.stdout

    if not check:
        # a renewed certificate shows up as a changed fingerprint, still without values
        make_envoy_cert(site.pki_dir, site.ca, envoy)
        rerun = site.run("--diff", "-v")
        assert_ok(rerun, site.envoys)
        assert rerun.changed(envoy) >= 1
        new_forbidden, new_fingerprint = secret_texts(site, envoy)
        for text in [*forbidden, *new_forbidden]:
            assert text not in rerun.output
        assert f"sha256:{fingerprint}" in rerun.stdout
        assert f"sha256:{new_fingerprint}" in rerun.stdout


def test_changed_certificate_updates_the_secret(make_site, cluster):
    site = make_site(1)
    envoy = site.envoys[0]
    assert_ok(site.run(), site.envoys)
    make_envoy_cert(site.pki_dir, site.ca, envoy)
    run = site.run()
    assert_ok(run, site.envoys)
    assert run.changed(envoy) >= 1
    assert_objects(cluster, site, envoy)


def test_removed_file_is_removed_from_the_configmap(make_site, cluster):
    site = make_site(1)
    envoy = site.envoys[0]
    (site.python_dir(envoy) / "extra_helper.py").write_text("X = 1\n")
    assert_ok(site.run(), site.envoys)
    assert "extra_helper.py" in cluster.configmap(site.namespace(envoy)).data

    (site.python_dir(envoy) / "extra_helper.py").unlink()
    (site.python_dir(envoy) / "requirements.txt").write_text("numpy==2.0.0\n")
    preview = site.run("--check", "--diff")
    assert_ok(preview, site.envoys)
    assert preview.changed(envoy) == 1
    assert "extra_helper.py" in cluster.configmap(site.namespace(envoy)).data  # check mode changed nothing
    run = site.run("--diff")
    assert_ok(run, site.envoys)
    assert run.changed(envoy) == 1
    data = cluster.configmap(site.namespace(envoy)).data
    assert data == {
        "test_shard_descriptor.py": (site.python_dir(envoy) / "test_shard_descriptor.py").read_text(),
        "requirements.txt": "numpy==2.0.0\n",
    }
    assert site.run().changed(envoy) == 0


def test_stray_secret_key_is_removed(make_site, cluster):
    site = make_site(1)
    envoy = site.envoys[0]
    assert_ok(site.run(), site.envoys)
    cluster.core.patch_namespaced_secret(
        "envoy-cert", site.namespace(envoy), {"data": {"extra.pem": base64.b64encode(b"x").decode()}}
    )
    run = site.run()
    assert_ok(run, site.envoys)
    assert run.changed(envoy) == 1
    assert set(cluster.secret_files(site.namespace(envoy))) == SECRET_KEYS


def test_existing_namespace_is_labelled_but_not_marked_as_created_by_us(make_site, cluster):
    site = make_site(1)
    envoy = site.envoys[0]
    body = cluster.client.V1Namespace(metadata=cluster.client.V1ObjectMeta(name=site.namespace(envoy)))
    cluster.core.create_namespace(body)
    assert_ok(site.run(), site.envoys)
    ns = cluster.namespace(site.namespace(envoy))
    assert (ns.metadata.labels or {}).get(MANAGED_BY[0]) == MANAGED_BY[1]
    assert CREATED_BY not in (ns.metadata.annotations or {})
    assert site.run().changed(envoy) == 0


def test_namespace_of_another_envoy_is_refused(make_site, cluster):
    site = make_site(1)
    envoy = site.envoys[0]
    other = f"{envoy}-other"
    labels = {MANAGED_BY[0]: MANAGED_BY[1], "openfl.envoy/name": other}
    body = cluster.client.V1Namespace(metadata=cluster.client.V1ObjectMeta(name=site.namespace(envoy), labels=labels))
    cluster.core.create_namespace(body)
    run = site.run()
    assert run.rc != 0
    assert f"belongs to envoy '{other}'" in run.stdout
    assert cluster.secret(site.namespace(envoy)) is None


# --- one test per input rule: the clear error, and nothing created for that envoy ------------------


def _bad_key(site, envoy):
    (site.python_dir(envoy) / "my shard.py").write_text("X = 1\n")
    return "openfl_envoy_python_dir file 'my shard.py' is not a valid ConfigMap key"


def _subdirectory(site, envoy):
    (site.python_dir(envoy) / "data").mkdir()
    return "openfl_envoy_python_dir file 'data' is a subdirectory"


def _too_large(site, envoy):
    pydir = site.python_dir(envoy)
    (pydir / "big.txt").write_text("x" * (1024 * 1024))
    total = sum(len(p.name) + p.stat().st_size for p in pydir.iterdir())
    return (
        f"openfl_envoy_python_dir '{pydir}' holds {total} bytes (file names plus contents), "
        "over the ConfigMap limit of 1048576 bytes (1 MiB)"
    )


def _binary(site, envoy):
    (site.python_dir(envoy) / "weights.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    return "openfl_envoy_python_dir file 'weights.bin' is not UTF-8 text"


def _missing_dir(site, envoy):
    path = site.tmp / "no-such-dir"
    site.host_vars[envoy] = {"openfl_envoy_python_dir": str(path)}
    return f"openfl_envoy_python_dir '{path}' does not exist"


def _template_module_missing(site, envoy):
    (site.python_dir(envoy) / "test_shard_descriptor.py").rename(site.python_dir(envoy) / "other.py")
    return (
        "openfl_envoy_config.shard_descriptor.template 'test_shard_descriptor.TestShardDescriptor' "
        "needs 'test_shard_descriptor.py' in openfl_envoy_python_dir"
    )


def _bad_namespace(site, envoy):
    site.host_vars[envoy] = {"openfl_envoy_namespace": "Openfl_Envoy"}
    return "openfl_envoy_namespace 'Openfl_Envoy' is not a DNS-1123 label"


def _bad_director_ip(site, envoy):
    site.host_vars[envoy] = {"openfl_director_ip": "director.example"}
    return "openfl_director_ip 'director.example' is not an IP address"


def _bad_director_fqdn(site, envoy):
    site.host_vars[envoy] = {"openfl_director_fqdn": "director.example."}
    return "openfl_director_fqdn 'director.example.' ends with a dot"


def _bad_port(site, envoy):
    site.host_vars[envoy] = {"openfl_director_port": 70000}
    return "openfl_director_port 70000 is not a port number"


def _review_experiment(site, envoy):
    config = {"params": {"review_experiment": True}, "shard_descriptor": {"template": "test_shard_descriptor.X"}}
    site.host_vars[envoy] = {"openfl_envoy_config": config}
    return "openfl_envoy_config.params.review_experiment True must not be true in a pod"


def _cert_cn_mismatch(site, envoy):
    make_envoy_cert(site.pki_dir, site.ca, envoy, cn=envoy.upper())
    return f"inventory_hostname '{envoy}' differs from the certificate common name '{envoy.upper()}'"


RULES = {
    "configmap-key": _bad_key,
    "subdirectory": _subdirectory,
    "over-1mib": _too_large,
    "binary-file": _binary,
    "missing-python-dir": _missing_dir,
    "template-module-missing": _template_module_missing,
    "namespace-not-dns1123": _bad_namespace,
    "director-ip": _bad_director_ip,
    "director-fqdn": _bad_director_fqdn,
    "port-range": _bad_port,
    "review-experiment": _review_experiment,
    "cert-cn": _cert_cn_mismatch,
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_input_rule(rule, make_site, cluster):
    site = make_site(2, prefix=f"rule-{rule}"[:40])
    bad, good = site.envoys
    message = RULES[rule](site, bad)
    run = site.run()
    assert run.rc != 0
    assert run.failed(bad) == 1
    assert f"{bad}: {message}" in run.stdout, run.stdout[-3000:]
    # bad input stops the rollout before anything changes: nothing for the bad envoy (nor the good one)
    assert_nothing_created(cluster, site, bad)
    assert_nothing_created(cluster, site, good)
    assert f"not started: preflight found bad input for {bad}" in run.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Envoy-Upper", "inventory_hostname 'Envoy-Upper' is not a DNS-1123 label"),
        ("e" * 54, f"inventory_hostname '{'e' * 54}' is 54 characters long; the limit is 53"),
    ],
    ids=["not-dns1123", "longer-than-53"],
)
def test_envoy_name_rule(name, message, make_site, cluster, tmp_path):
    site = make_site(1)
    good = site.envoys[0]
    make_envoy_cert(site.pki_dir, site.ca, name)
    pydir = site.python_dir(name)
    pydir.mkdir(parents=True)
    (pydir / "test_shard_descriptor.py").write_text((site.python_dir(good) / "test_shard_descriptor.py").read_text())
    site.envoys.append(name)
    namespace = f"ns-{good}-bad"
    site.host_vars[name] = {"openfl_envoy_namespace": namespace}
    run = site.run()
    assert run.rc != 0
    assert f"{name}: {message}" in run.stdout, run.stdout[-3000:]
    assert cluster.namespace(namespace) is None
    assert_nothing_created(cluster, site, good)


def test_errors_of_all_bad_envoys_are_listed_together(make_site):
    site = make_site(3)
    first, second, _ = site.envoys
    site.host_vars[first] = {"openfl_director_ip": "nope"}
    site.host_vars[second] = {"openfl_director_agg_port": 0}
    run = site.run()
    assert run.rc != 0
    listing = run.stdout.split("List every error of every envoy with bad input", 1)[1]
    assert f"{first}: openfl_director_ip 'nope' is not an IP address" in listing
    assert f"{second}: openfl_director_agg_port 0 is not a port number" in listing
