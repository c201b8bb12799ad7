"""charts/openfl-director: packaged deterministically, clean under Helm's lint, rendered as KubeFATE does.

KubeFATE renders values-template.yaml with the cluster yaml, then installs the chart without its
schema: the render tests go through both steps (kubefate_render), and the bad inputs must fail
in the templates themselves, naming the value.
"""

from __future__ import annotations

import importlib.util

import helm_python
import pytest
import yaml
from ansible_collections.openfl.envoy.plugins.module_utils.chart import package_chart, read_chart_metadata
from helm_python import HelmError
from kubefate_render import DIRECTOR_CHART_DIR, cluster_values, render_chart, render_cluster

EXAMPLE = (DIRECTOR_CHART_DIR / "values-template-example.yaml").read_text()


def cluster(**changes) -> str:
    spec = yaml.safe_load(EXAMPLE)
    for path, value in changes.items():
        block, _, key = path.partition("__")
        if key:
            spec.setdefault(block, {})[key] = value
        else:
            spec[block] = value
    return yaml.safe_dump(spec)


def test_packaging_is_deterministic_and_named_after_the_chart():
    filename, data = package_chart(str(DIRECTOR_CHART_DIR))
    assert package_chart(str(DIRECTOR_CHART_DIR)) == (filename, data)
    meta = read_chart_metadata(str(DIRECTOR_CHART_DIR))
    assert meta["name"] == "openfl-director" and filename == f"openfl-director-{meta['version']}.tgz"
    assert yaml.safe_load(EXAMPLE)["chartVersion"] == meta["version"]


@pytest.mark.parametrize("values_file", sorted((DIRECTOR_CHART_DIR / "ci").glob("*-values.yaml")), ids=str)
def test_helm_lint_strict_is_clean(values_file):
    report = helm_python.lint(DIRECTOR_CHART_DIR, yaml.safe_load(values_file.read_text()), strict=True)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] != 1] == []


@pytest.mark.parametrize("strict", [False, True], ids=["plain", "strict"])
def test_helm_lint_of_bare_defaults_is_clean(strict, capfd):
    """`helm lint charts/openfl-director` with no values file: no error, no warning; the name a cluster must
    give shows as the lint-mode INFO of the template's `fail`."""
    report = helm_python.lint(DIRECTOR_CHART_DIR, {}, strict=strict)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] != 1] == []
    assert "openfl-director: name is required" in capfd.readouterr().err


def test_the_lint_gate_passes_on_the_chart():
    script = DIRECTOR_CHART_DIR.parents[1] / "scripts" / "chart_lint.py"
    spec = importlib.util.spec_from_file_location("chart_lint", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(DIRECTOR_CHART_DIR)]) == 0


def test_the_example_cluster_yaml_renders_the_director_its_config_and_its_service():
    objects = render_cluster(EXAMPLE, schema=False, chart_dir=DIRECTOR_CHART_DIR)
    assert set(objects) == {("ConfigMap", "director-config"), ("Deployment", "director"), ("Service", "director")}
    config = yaml.safe_load(objects["ConfigMap", "director-config"]["data"]["director_config.yaml"])
    assert config == {"settings": {"listen_host": "0.0.0.0", "listen_port": 50051, "sample_shape": ["1"],
                                   "target_shape": ["1"], "envoy_health_check_period": 60}}  # fmt: skip
    deployment = objects["Deployment", "director"]
    assert deployment["metadata"]["labels"]["name"] == "director"  # what KubeFATE's job watches
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    command = container["args"][0]
    assert "exec fx director start" in command and "--public-cert-path cert/director.crt" in command
    assert [p["name"] for p in container["ports"]] == ["director", "agg"]
    assert pod["volumes"][0] == {"name": "director-cert", "secret": {"secretName": "director-cert", "defaultMode": 288}}
    assert pod["imagePullSecrets"] == [{"name": "registrykeyopenfl"}]
    service = objects["Service", "director"]
    assert service["spec"]["type"] == "NodePort"
    assert [(p["name"], p["port"], p.get("nodePort")) for p in service["spec"]["ports"]] == [
        ("director", 50051, None),
        ("agg", 50052, None),
    ]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_fixed_node_ports_and_the_notebook():
    text = cluster(service__directorNodePort=30051, service__aggNodePort=30052, notebook__enabled=True,
                   notebook__passwordHash="sha1:12345678:" + "0" * 40)  # fmt: skip
    objects = render_cluster(text, schema=False, chart_dir=DIRECTOR_CHART_DIR)
    assert [p["nodePort"] for p in objects["Service", "director"]["spec"]["ports"]] == [30051, 30052]
    assert {("Deployment", "notebook"), ("Service", "notebook"), ("Secret", "notebook-password")} <= set(objects)
    assert "sha1:" not in yaml.safe_dump(objects["Deployment", "notebook"])  # the hash stays in its Secret


def test_a_cluster_ip_service_carries_no_node_ports():
    objects = render_cluster(cluster(service__type="ClusterIP"), schema=False, chart_dir=DIRECTOR_CHART_DIR)
    assert all("nodePort" not in p for p in objects["Service", "director"]["spec"]["ports"])


BAD = [
    ({"name": "Director"}, 'openfl-director: name "Director" must be a DNS-1123 label'),
    ({"director__sampleShape": []}, "openfl-director: director.sampleShape must be a non-empty list"),
    ({"director__targetShape": ["x"]}, "openfl-director: director.targetShape must list positive integers"),
    ({"director__envoyHealthCheckPeriod": 0}, "director.envoyHealthCheckPeriod must be a positive number"),
    ({"service__type": "Ingress"}, "service.type must be one of NodePort, LoadBalancer, ClusterIP, got Ingress"),
    ({"service__directorNodePort": 80}, "service.directorNodePort must be 0 or a port number 30000-32767, got 80"),
    ({"service__directorNodePort": 30051, "service__aggNodePort": 30051}, "directorNodePort and service.aggNodePort"),
    ({"notebook__enabled": True}, "notebook.passwordHash must be a Jupyter password hash"),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_values_fail_in_the_templates_naming_the_value(changes, message):
    values = cluster_values(yaml.safe_load(cluster(**changes)), DIRECTOR_CHART_DIR)
    with pytest.raises(HelmError) as caught:
        render_chart(values, name="director", schema=False, chart_dir=DIRECTOR_CHART_DIR)
    assert message in str(caught.value)
