"""Wrong input fails with a clear message, at schema time (Helm) and at render time (KubeFATE).

KubeFATE installs the chart without values.schema.json, so every rule is asserted twice: with the
schema (``helm install``/``helm lint``), and without it, where the chart's own checks must fail the
render with a message naming the value.
"""

from __future__ import annotations

import ipaddress
import json

import helm_python
import pytest
import yaml
from chart_cluster_specs import SEED_CLUSTER_YAML
from helm_python.chart import Chart
from kubefate_render import CHART_DIR, chart, cluster_values, render_chart, render_cluster


def seed_spec() -> dict:
    return yaml.safe_load(SEED_CLUSTER_YAML)


def with_envoy(**changes) -> dict:
    spec = seed_spec()
    spec["envoy"].update(changes)
    return spec


def errors(spec: dict) -> tuple[str, str]:
    """(schema-time message, KubeFATE render-time message) for a cluster spec that must fail."""
    values = cluster_values(spec)
    with pytest.raises(helm_python.HelmValuesError) as schema_error:
        render_chart(values, schema=True)
    with pytest.raises(helm_python.HelmRenderError) as render_error:
        render_chart(values, schema=False)
    return str(schema_error.value), str(render_error.value)


BAD_IPS = ["director.example.com", "999.1.1.1", "1.2.3", "01.2.3.4", "fe80::1%eth0", "1::2::3", " 10.0.0.1"]


@pytest.mark.parametrize("bad_ip", BAD_IPS)
def test_director_ip_must_be_an_ip(bad_ip):
    schema_message, render_message = errors(with_envoy(directorIp=bad_ip))
    assert "at '/envoy/directorIp'" in schema_message
    assert f'envoy.directorIp "{bad_ip}" is not an IPv4 or IPv6 address' in render_message


def test_director_ip_of_another_type_is_rejected():
    schema_message, render_message = errors(with_envoy(directorIp=17))
    assert "at '/envoy/directorIp'" in schema_message
    assert "want string" in schema_message
    assert "envoy.directorIp must be an IP address as a string" in render_message


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",
        "10.0.0.1",
        "192.168.1.1",
        "255.255.255.255",
        "::",
        "::1",
        "2001:db8::10",
        "fe80::1",
        "1:2:3:4:5:6:7:8",
        "1::",
        "1:2:3:4:5:6:7::",
        "::ffff:192.0.2.1",
        "64:ff9b::192.0.2.33",
        "1:2:3:4:5:6:1.2.3.4",
        "2001:DB8:0:0:8:800:200C:417A",
    ],
)
def test_director_ip_accepts_ipv4_and_ipv6(address):
    ipaddress.ip_address(address)  # the test data itself is right
    for schema in (True, False):
        objects = render_chart(cluster_values(with_envoy(directorIp=address)), schema=schema)
        assert f"- ip: {json.dumps(address)}" in objects["openfl-envoy/templates/deployment.yaml"]


def test_empty_director_ip_means_no_host_aliases():
    for schema in (True, False):
        rendered = render_chart(cluster_values(with_envoy(directorIp="")), schema=schema)
        assert "hostAliases" not in rendered["openfl-envoy/templates/deployment.yaml"]


@pytest.mark.parametrize("field", ["directorPort", "aggPort"])
@pytest.mark.parametrize(("port", "schema_text"), [(0, "minimum"), (65536, "maximum"), (-1, "minimum")])
def test_ports_must_be_within_1_and_65535(field, port, schema_text):
    schema_message, render_message = errors(with_envoy(**{field: port}))
    assert f"at '/envoy/{field}'" in schema_message
    assert schema_text in schema_message
    assert f"envoy.{field} must be an integer port number 1-65535, got {port}" in render_message


@pytest.mark.parametrize("port", ["50051", 50051.5, True])
def test_ports_must_be_integers(port):
    schema_message, render_message = errors(with_envoy(directorPort=port))
    assert "at '/envoy/directorPort'" in schema_message
    assert "envoy.directorPort must be an integer port number 1-65535" in render_message


@pytest.mark.parametrize("port", [1, 65535])
def test_port_bounds_are_accepted(port):
    for schema in (True, False):
        render_chart(cluster_values(with_envoy(directorPort=port, aggPort=port)), schema=schema)


def test_missing_name():
    spec = seed_spec()
    del spec["name"]
    schema_message, render_message = errors(spec)
    assert "missing property 'name'" in schema_message
    assert "openfl-envoy: name is required (cluster yaml `name`" in render_message


@pytest.mark.parametrize("name", ["Envoy_1", "envoy-", "a" * 54])
def test_name_must_be_a_dns_label_of_at_most_53_characters(name):
    spec = seed_spec()
    spec["name"] = name
    schema_message, render_message = errors(spec)
    assert "at '/name'" in schema_message
    assert f'name "{name}" must be a DNS-1123 label' in render_message


@pytest.mark.parametrize("fqdn", ["Director_1", "director.", "-director", ""])
def test_director_fqdn_must_be_a_dns_name(fqdn):
    schema_message, render_message = errors(with_envoy(directorFqdn=fqdn))
    assert "at '/envoy/directorFqdn'" in schema_message
    assert "envoy.directorFqdn" in render_message and "must be a lower-case DNS name" in render_message


def test_director_fqdn_of_another_type_is_rejected():
    schema_message, render_message = errors(with_envoy(directorFqdn=5))
    assert "at '/envoy/directorFqdn'" in schema_message
    assert "envoy.directorFqdn 5 must be a lower-case DNS name" in render_message


def test_envoy_configs_must_name_a_shard_descriptor_template():
    schema_message, render_message = errors(with_envoy(envoyConfigs={"params": {"cuda_devices": []}}))
    assert "at '/envoy/envoyConfigs'" in schema_message
    assert "envoy.envoyConfigs must set shard_descriptor.template" in render_message


def test_envoy_configs_are_required():
    spec = seed_spec()
    del spec["envoy"]["envoyConfigs"]
    schema_message, render_message = errors(spec)
    assert "missing property 'envoyConfigs'" in schema_message
    assert "envoy.envoyConfigs is required" in render_message


def test_pod_security_policy_enabled_fails_with_an_explanation():
    spec = seed_spec()
    spec["podSecurityPolicy"]["enabled"] = True
    values = cluster_values(spec)
    for schema in (True, False):
        with pytest.raises(helm_python.HelmRenderError) as error:
            render_chart(values, schema=schema)
        assert "podSecurityPolicy.enabled=true is not supported" in str(error.value)
        assert "removed in Kubernetes 1.25" in str(error.value)


def test_pod_security_policy_disabled_or_absent_is_accepted():
    spec = seed_spec()
    del spec["podSecurityPolicy"]
    assert ("Deployment", "envoy") in render_cluster(yaml.safe_dump(spec), schema=False)


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("pullPolicy", "Sometimes", "/image/pullPolicy"),
        ("imagePullSecrets", "registrykeyopenfl", "/imagePullSecrets"),
        ("imagePullSecrets", [{"nom": "x"}], "/imagePullSecrets/0"),
    ],
)
def test_schema_rejects_wrong_top_level_types(key, value, where):
    spec = seed_spec()
    spec[key] = value
    with pytest.raises(helm_python.HelmValuesError) as error:
        render_chart(cluster_values(spec))
    assert f"at '{where}'" in str(error.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [("nodeSelector", ["linux"]), ("tolerations", {"key": "x"}), ("affinity", "any"), ("resources", 2)],
)
def test_schema_rejects_wrong_scheduling_types(key, value):
    with pytest.raises(helm_python.HelmValuesError) as error:
        render_chart(cluster_values(with_envoy(**{key: value})))
    assert f"at '/envoy/{key}'" in str(error.value)


def test_schema_rejects_unknown_envoy_keys():
    values = cluster_values(seed_spec())
    values["envoy"]["directorPorts"] = 50051
    with pytest.raises(helm_python.HelmValuesError) as error:
        render_chart(values)
    assert "directorPorts" in str(error.value)


def test_validate_schema_accepts_the_seed_values():
    loaded: Chart = chart(True)
    loaded.validate_schema(loaded.merge_values(cluster_values(seed_spec())))


def test_schema_ip_patterns_are_the_chart_template_patterns():
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    patterns = [branch.get("pattern") for branch in schema["properties"]["envoy"]["properties"]["directorIp"]["anyOf"]]
    helpers = (CHART_DIR / "templates" / "_helpers.tpl").read_text()
    for pattern in filter(None, patterns):
        assert f"\n{pattern}\n" in helpers
