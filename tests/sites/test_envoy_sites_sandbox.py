"""openfl.envoy.envoy_sites on the sandbox: one small case per check kind, each error naming the site
group, the variable and the way out, and nothing changed on the site."""

from __future__ import annotations

from kubefate_support import run_module


def errors_of(args: dict) -> tuple[dict, list[str]]:
    result = run_module("envoy_sites", args)
    assert result.rc == 0, result.stderr
    return result.data, result.data["errors"]


def test_good_site_passes(site_args):
    data, errors = errors_of(site_args)
    assert errors == [] and data["bad"] == [] and not data["envoys"]["envoy-1"]["failed"]


def test_inventory_shape(site_args):
    site_args["groups"].update(site_b=["envoy-1"], ungrouped=[])
    site_args["groups"]["sandbox"] = ["envoy-1"]
    data, errors = errors_of(site_args)
    assert any("envoy-1: inventory: the envoy is in 2 site groups, sandbox and site_b" in e for e in errors)
    assert any("envoy-2: inventory: the envoy is in no site group" in e for e in errors)
    assert data["bad"] == ["envoy-1", "envoy-2"]


def test_missing_connection_settings(site_args):
    for envoy in site_args["envoys"]:
        envoy["kubefate"].pop("url")
    data, errors = errors_of(site_args)
    assert data["bad_sites"] == ["sandbox"]
    assert "site group sandbox: envoy-1: openfl_kubefate_url not set; set them in group_vars/sandbox/" in errors[0]


def test_kubeconfig_context_and_rights(site_args, sandbox, tmp_path):
    envoy_1, envoy_2 = site_args["envoys"]
    envoy_1["kubernetes"]["kubeconfig"] = str(tmp_path / "nowhere")
    envoy_2["kubernetes"]["context"] = "site-zz"
    _data, errors = errors_of(site_args)
    assert "********" not in " ".join(errors)
    assert any(
        e.startswith("site group sandbox (envoy-1): openfl_k8s_kubeconfig") and "does not exist" in e for e in errors
    )
    assert any("openfl_k8s_context 'site-zz' is not a context of" in e and "(it has: sandbox)" in e for e in errors)

    # The read-only identity of the sandbox: every write the rollout does is denied, reads are not.
    for envoy in site_args["envoys"]:
        envoy["kubernetes"] = {"kubeconfig": str(sandbox.viewer_kubeconfig), "context": "sandbox"}
    _, errors = errors_of(site_args)
    assert len(errors) == 1 and errors[0].startswith("site group sandbox (envoy-1, envoy-2): the identity of context")
    assert "may not create namespaces, patch namespaces, create secrets, update secrets" in errors[0]
    assert "list pods" not in errors[0] and "get pods/log" not in errors[0]
    assert "SelfSubjectAccessReview" in errors[0] and "openfl_k8s_context" in errors[0]


def test_kubefate_login_and_version(site_args, kf):
    for envoy in site_args["envoys"]:
        envoy["kubefate"]["password"] = "wrong"
    before = kf.get("/v1/job/")
    data, errors = errors_of(site_args)
    assert errors == [
        f"site group sandbox (envoy-1, envoy-2): the login to KubeFATE at {kf.url} as 'admin' was refused "
        "(HTTP 401); check openfl_kubefate_username and openfl_kubefate_password"
    ]
    assert "wrong" not in str(data)
    assert kf.get("/v1/job/") == before

    for envoy in site_args["envoys"]:
        envoy["kubefate"]["password"] = kf.password
    kf.configure(service_version="v1.3.0")
    _, errors = errors_of(site_args)
    assert errors == [
        f"site group sandbox (envoy-1, envoy-2): KubeFATE at openfl_kubefate_url {kf.url} reports service version "
        "v1.3.0; this collection supports v1.4.1 to v1.4.5 (KubeFATE v1.6.0 to v2.0.0): upgrade KubeFATE"
    ]


def test_kubefate_url_that_does_not_answer(site_args):
    for envoy in site_args["envoys"]:
        envoy["kubefate"]["url"] = "http://127.0.0.1:9"
    _, errors = errors_of(site_args)
    assert len(errors) == 1 and "openfl_kubefate_url http://127.0.0.1:9 does not answer" in errors[0]


def test_chart_that_does_not_package(site_args, tmp_path):
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: openfl-envoy\nversion: one\n")
    site_args["chart_path"] = str(chart)
    _, errors = errors_of(site_args)
    assert len(errors) == 1 and errors[0].startswith(f"kubefate_chart_path: chart_path {chart}: cannot package")
    assert "'one' is invalid" in errors[0]


def test_ca_passphrase_and_lifetime(site_args, tmp_path):
    from ansible_collections.openfl.envoy.tests.unit.pki_factory import create_ca

    create_ca(tmp_path / "ca", passphrase="right", valid_days=600)  # made 500 days ago: 100 days left
    ca = site_args["ca"]
    ca["passphrase"] = "wrong"
    data, errors = errors_of(site_args)
    assert len(errors) == 1 and errors[0].startswith("openfl_ca_passphrase does not open the CA key")
    assert "wrong" not in str(data).replace("wrong passphrase", "")

    ca["passphrase"] = "right"
    _, errors = errors_of(site_args)
    assert len(errors) == 1 and "(an envoy certificate lasts envoy_cert_valid_days=365)" in errors[0]
    ca["valid_days"] = 30
    assert errors_of(site_args)[1] == []
