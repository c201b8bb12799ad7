"""The chart rendered exactly as KubeFATE renders it: values-template.yaml first, then the chart.

Three cluster yaml files (the seed's verbatim, a maximal and a minimal one), object by object and
field by field; the baseline Pod Security Standard; kubernetes-validate for 1.25-1.31.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml
from chart_cluster_specs import MAX_CLUSTER_YAML, MIN_CLUSTER_YAML, SEED_CLUSTER_YAML
from kubefate_render import (
    CHART_DIR,
    cluster_values,
    manifests,
    render_chart,
    render_cluster,
    render_values_template,
)

MIN_TEMPLATE = "dummy_shard_descriptor.FedLCMDummyShardDescriptor"
KUBE_VERSIONS = ("1.25", "1.26", "1.27", "1.28", "1.29", "1.30", "1.31")
CLUSTERS = {"seed": SEED_CLUSTER_YAML, "max": MAX_CLUSTER_YAML, "min": MIN_CLUSTER_YAML}
ENVOY_COMMAND_FLAGS = (
    '--shard-name "${ENVOY_NAME}"',
    '--director-host "${DIRECTOR_FQDN}"',
    '--director-port "${DIRECTOR_PORT}"',
    "--root-cert-path cert/root_ca.crt",
    "--private-key-path cert/priv.key",
    "--public-cert-path cert/envoy.crt",
    "--envoy-config-path envoy_config.yaml",
)
EXPECTED_MOUNTS = [
    {"name": "envoy-cert", "mountPath": "/openfl/workspace/cert/", "readOnly": True},
    {"name": "envoy-python-configs", "mountPath": "/openfl/workspace/python/", "readOnly": True},
    {
        "name": "envoy-config",
        "mountPath": "/openfl/workspace/envoy_config.yaml",
        "subPath": "envoy_config.yaml",
        "readOnly": True,
    },
]
EXPECTED_VOLUMES = [
    {"name": "envoy-cert", "secret": {"secretName": "envoy-cert", "defaultMode": 0o440}},
    {"name": "envoy-python-configs", "configMap": {"name": "envoy-python-configs"}},
    {"name": "envoy-config", "configMap": {"name": "envoy-config"}},
]
# Pod Security Standards, baseline profile: capabilities that may be added.
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}


@pytest.fixture(scope="module")
def seed() -> dict[tuple[str, str], dict[str, Any]]:
    return render_cluster(SEED_CLUSTER_YAML)


@pytest.fixture(scope="module")
def maximal() -> dict[tuple[str, str], dict[str, Any]]:
    return render_cluster(MAX_CLUSTER_YAML)


@pytest.fixture(scope="module")
def minimal() -> dict[tuple[str, str], dict[str, Any]]:
    return render_cluster(MIN_CLUSTER_YAML)


@pytest.fixture(scope="module")
def renders(seed, maximal, minimal) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    return {"seed": seed, "max": maximal, "min": minimal}


def deployment(objects: dict) -> dict[str, Any]:
    return objects[("Deployment", "envoy")]


def pod(objects: dict) -> dict[str, Any]:
    return deployment(objects)["spec"]["template"]["spec"]


def container(objects: dict) -> dict[str, Any]:
    (only,) = pod(objects)["containers"]
    return only


def env(objects: dict) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(objects)["env"]}


def envoy_config_text(objects: dict) -> str:
    return objects[("ConfigMap", "envoy-config")]["data"]["envoy_config.yaml"]


# --- values-template.yaml: KubeFATE's step ------------------------------------------------------


def test_values_template_uses_only_functions_kubefate_provides():
    text = (CHART_DIR / "values-template.yaml").read_text()
    actions = " ".join(re.findall(r"{{(.*?)}}", text, re.DOTALL))
    actions = re.sub(r"/\*.*?\*/", "", actions, flags=re.DOTALL)
    for stub in ("include", "tpl", "required", "lookup", "env", "expandenv"):
        assert not re.search(rf"\b{stub}\b", actions), f"values-template.yaml calls {stub}, a KubeFATE stub"


def test_values_template_seed_output_is_exact():
    assert cluster_values(yaml.safe_load(SEED_CLUSTER_YAML)) == {
        "name": "envoy-1",
        # registry "" keeps the chart default (federatedai), the KubeFATE convention.
        "image": {"repository": "fedlcm-openfl", "tag": "v0.1.0", "pullPolicy": "IfNotPresent"},
        "podSecurityPolicy": {"enabled": False},
        "envoy": {
            "directorFqdn": "director",
            "directorIp": "192.168.1.1",
            "directorPort": 50051,
            "aggPort": 50052,
            "envoyConfigs": {
                "params": {"cuda_devices": []},
                "optional_plugin_components": {},
                "shard_descriptor": {
                    "template": "mnist_shard_descriptor.MnistShardDescriptor",
                    "params": {"rank_worldsize": "1, 2"},
                },
            },
        },
    }


def test_values_template_maps_every_key_of_the_maximal_spec():
    spec = yaml.safe_load(MAX_CLUSTER_YAML)
    values = cluster_values(spec)
    assert values["name"] == "envoy-max"
    assert values["image"] == {
        "registry": "registry.example.com:5000/openfl/",
        "repository": "openfl/fedlcm-openfl",
        "tag": "1.5-patched",
        "pullPolicy": "Always",
    }
    assert values["imagePullSecrets"] == spec["imagePullSecrets"]
    assert values["podSecurityPolicy"] == {"enabled": False}
    assert values["serviceAccount"] == spec["serviceAccount"]
    envoy = dict(spec["envoy"])
    del envoy["image"], envoy["imageTag"]
    assert values["envoy"] == envoy
    # Keys that only KubeFATE reads stay out of the chart values.
    assert not {"namespace", "chartName", "chartVersion", "modules"} & set(values)


def test_values_template_leaves_absent_and_null_keys_to_the_chart_defaults():
    values = cluster_values(yaml.safe_load(MIN_CLUSTER_YAML + "  directorIp:\n  nodeSelector: null\n"))
    assert values == {
        "name": "envoy-min",
        "envoy": {"envoyConfigs": {"shard_descriptor": {"template": MIN_TEMPLATE}}},
    }


def test_values_template_writes_numeric_image_tags_as_strings():
    spec = yaml.safe_load(MIN_CLUSTER_YAML)
    spec["envoy"]["imageTag"] = 1.5
    assert cluster_values(spec)["image"] == {"tag": "1.5"}
    assert container(render_cluster(yaml.safe_dump(spec)))["image"] == "federatedai/fedlcm-openfl:1.5"


def test_values_template_output_is_plain_yaml_for_the_seed():
    text = render_values_template(yaml.safe_load(SEED_CLUSTER_YAML))
    assert "<no value>" not in text
    assert yaml.safe_load(text)["envoy"]["directorPort"] == 50051


# --- the objects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_objects_are_exactly_the_configmap_the_deployment_and_an_optional_serviceaccount(renders, cluster):
    expected = {("ConfigMap", "envoy-config"), ("Deployment", "envoy")}
    if cluster == "max":
        expected.add(("ServiceAccount", "envoy-sa"))
    assert set(renders[cluster]) == expected


@pytest.mark.parametrize(("cluster", "name"), [("seed", "envoy-1"), ("max", "envoy-max"), ("min", "envoy-min")])
def test_labels_carry_the_cluster_name_kubefate_selects_on(renders, cluster, name):
    objects = renders[cluster]
    for obj in objects.values():
        assert obj["metadata"]["labels"]["name"] == name
    dep = deployment(objects)
    selector = dep["spec"]["selector"]["matchLabels"]
    assert selector == {"openfl": "envoy", "app.kubernetes.io/instance": name}
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    assert pod_labels["name"] == name


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_deployment_shape_mounts_and_command(renders, cluster):
    objects = renders[cluster]
    spec = deployment(objects)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    main = container(objects)
    assert main["name"] == "envoy"
    assert main["workingDir"] == "/openfl/workspace"
    assert main["volumeMounts"] == EXPECTED_MOUNTS
    assert pod(objects)["volumes"] == EXPECTED_VOLUMES
    assert main["command"] == ["/bin/bash", "-c"]
    (script,) = main["args"]
    start = script[script.index("exec fx envoy start") :]
    for flag in ENVOY_COMMAND_FLAGS:
        assert flag in start
    assert "pip install --no-cache-dir -r python/requirements.txt" in script
    assert "/openfl/workspace/python" in script


def test_seed_deployment_field_by_field(seed):
    main = container(seed)
    assert main["image"] == "federatedai/fedlcm-openfl:v0.1.0"
    assert main["imagePullPolicy"] == "IfNotPresent"
    assert env(seed) == {
        "ENVOY_NAME": "envoy-1",
        "DIRECTOR_FQDN": "director",
        "DIRECTOR_PORT": "50051",
        "OVERRIDE_AGG_ADDR": "director",
        "OVERRIDE_AGG_PORT": "50052",
    }
    spec = pod(seed)
    assert spec["hostAliases"] == [{"ip": "192.168.1.1", "hostnames": ["director"]}]
    for absent in ("imagePullSecrets", "nodeSelector", "tolerations", "affinity", "serviceAccountName"):
        assert absent not in spec
    assert "resources" not in main
    assert spec["automountServiceAccountToken"] is False


def test_seed_envoy_config_is_the_cluster_yaml_envoy_configs(seed):
    text = envoy_config_text(seed)
    assert yaml.safe_load(text) == yaml.safe_load(SEED_CLUSTER_YAML)["envoy"]["envoyConfigs"]
    assert text.endswith("\n")


def test_maximal_deployment_field_by_field(maximal):
    spec = yaml.safe_load(MAX_CLUSTER_YAML)
    envoy = spec["envoy"]
    main = container(maximal)
    podspec = pod(maximal)
    assert main["image"] == "registry.example.com:5000/openfl/openfl/fedlcm-openfl:1.5-patched"
    assert main["imagePullPolicy"] == "Always"
    assert podspec["imagePullSecrets"] == [{"name": "registrykeyopenfl"}, {"name": "second-pull-secret"}]
    assert env(maximal) == {
        "ENVOY_NAME": "envoy-max",
        "DIRECTOR_FQDN": "director.federation.example.com",
        "DIRECTOR_PORT": "30051",
        "OVERRIDE_AGG_ADDR": "director.federation.example.com",
        "OVERRIDE_AGG_PORT": "30052",
    }
    assert podspec["hostAliases"] == [{"ip": "2001:db8::10", "hostnames": ["director.federation.example.com"]}]
    assert podspec["nodeSelector"] == envoy["nodeSelector"]
    assert podspec["tolerations"] == envoy["tolerations"]
    assert podspec["affinity"] == envoy["affinity"]
    assert main["resources"] == envoy["resources"]
    assert podspec["serviceAccountName"] == "envoy-sa"
    assert podspec["automountServiceAccountToken"] is False
    annotations = deployment(maximal)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/envoy-cert"] == "3f2a"
    assert annotations["checksum/python-configs"] == "9b1c"
    assert "checksum/config" in annotations
    # Overrides merge with the defaults, key by key.
    assert podspec["securityContext"] == {"fsGroup": 2000, "seccompProfile": {"type": "RuntimeDefault"}}
    assert main["securityContext"] == {
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": False,
    }
    assert yaml.safe_load(envoy_config_text(maximal)) == envoy["envoyConfigs"]


def test_maximal_service_account(maximal):
    account = maximal[("ServiceAccount", "envoy-sa")]
    assert account["metadata"]["annotations"] == {"example.com/owner": "federation-a"}
    assert account["automountServiceAccountToken"] is False


def test_minimal_uses_the_chart_defaults(minimal):
    main = container(minimal)
    assert main["image"] == "federatedai/fedlcm-openfl:v0.3.0"
    assert main["imagePullPolicy"] == "IfNotPresent"
    assert env(minimal) == {
        "ENVOY_NAME": "envoy-min",
        "DIRECTOR_FQDN": "director",
        "DIRECTOR_PORT": "50051",
        "OVERRIDE_AGG_ADDR": "director",
        "OVERRIDE_AGG_PORT": "50052",
    }
    spec = pod(minimal)
    assert "hostAliases" not in spec
    assert "imagePullSecrets" not in spec
    assert "serviceAccountName" not in spec
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert yaml.safe_load(envoy_config_text(minimal)) == {"shard_descriptor": {"template": MIN_TEMPLATE}}


def test_service_account_without_create_uses_an_existing_one():
    spec = yaml.safe_load(MIN_CLUSTER_YAML)
    spec["serviceAccount"] = {"name": "existing-sa", "automountToken": True}
    objects = render_cluster(yaml.safe_dump(spec))
    assert ("ServiceAccount", "existing-sa") not in objects
    assert pod(objects)["serviceAccountName"] == "existing-sa"
    assert pod(objects)["automountServiceAccountToken"] is True


def test_service_account_created_without_a_name_is_called_envoy():
    spec = yaml.safe_load(MIN_CLUSTER_YAML)
    spec["serviceAccount"] = {"create": True}
    objects = render_cluster(yaml.safe_dump(spec))
    assert ("ServiceAccount", "envoy") in objects
    assert pod(objects)["serviceAccountName"] == "envoy"


def test_envoy_configs_given_as_text_are_used_verbatim():
    text = "# operator's own file\nshard_descriptor:\n  template: my_sd.MyShardDescriptor\n"
    spec = yaml.safe_load(MIN_CLUSTER_YAML)
    spec["envoy"]["envoyConfigs"] = text
    assert envoy_config_text(render_cluster(yaml.safe_dump(spec))) == text


def test_registry_without_prefix_when_the_chart_value_is_empty():
    values = cluster_values(yaml.safe_load(MIN_CLUSTER_YAML))
    values["image"] = {"registry": ""}
    objects = {(o["kind"], o["metadata"]["name"]): o for o in manifests(render_chart(values, name="envoy-min"))}
    assert container(objects)["image"] == "fedlcm-openfl:v0.3.0"


# --- checksum: a config change rolls the pod ---------------------------------------------------


def test_config_checksum_is_the_sha256_of_the_envoy_config(seed):
    annotations = deployment(seed)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/config"] == hashlib.sha256(envoy_config_text(seed).encode()).hexdigest()


def test_config_checksum_changes_with_envoy_configs_and_only_then(seed):
    def checksum(objects):
        return deployment(objects)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    again = render_cluster(SEED_CLUSTER_YAML)
    assert checksum(again) == checksum(seed)
    changed = SEED_CLUSTER_YAML.replace("rank_worldsize: 1, 2", "rank_worldsize: 2, 2")
    assert checksum(render_cluster(changed)) != checksum(seed)
    other_port = SEED_CLUSTER_YAML.replace("directorPort: 50051", "directorPort: 50061")
    assert checksum(render_cluster(other_port)) == checksum(seed)


# --- security: the baseline Pod Security Standard --------------------------------------------------


def baseline_violations(podspec: dict[str, Any]) -> list[str]:
    """The checks of the Kubernetes baseline Pod Security Standard that a chart can break."""
    problems = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if podspec.get(field):
            problems.append(field)
    problems += [f"hostPath volume {v['name']}" for v in podspec.get("volumes", []) if "hostPath" in v]
    pod_context = podspec.get("securityContext") or {}
    contexts = [("pod", pod_context)]
    for sysctl in pod_context.get("sysctls") or []:
        problems.append(f"sysctl {sysctl['name']}")
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for item in podspec.get(kind) or []:
            context = item.get("securityContext") or {}
            contexts.append((item["name"], context))
            if context.get("privileged"):
                problems.append(f"{item['name']} privileged")
            added = set((context.get("capabilities") or {}).get("add") or [])
            if added - BASELINE_CAPABILITIES:
                problems.append(f"{item['name']} adds {sorted(added - BASELINE_CAPABILITIES)}")
            if context.get("procMount", "Default") != "Default":
                problems.append(f"{item['name']} procMount")
            problems += [f"{item['name']} hostPort" for port in item.get("ports") or [] if port.get("hostPort")]
    for where, context in contexts:
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{where} seccomp Unconfined")
        if (context.get("appArmorProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{where} apparmor Unconfined")
        if (context.get("seLinuxOptions") or {}).get("type") not in (None, "", "container_t", "container_init_t"):
            problems.append(f"{where} seLinux type")
    return problems


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_pod_passes_the_baseline_pod_security_standard(renders, cluster):
    podspec = pod(renders[cluster])
    assert baseline_violations(podspec) == []
    main = container(renders[cluster])
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert podspec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # The image runs as root: runAsNonRoot is an option, not a default.
    assert "runAsNonRoot" not in podspec["securityContext"]


def test_baseline_checker_catches_a_privileged_pod():
    podspec = {
        "hostNetwork": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}}}],
    }
    assert baseline_violations(podspec) == ["hostNetwork", "hostPath volume h", "c privileged", "c adds ['SYS_ADMIN']"]


def test_no_pod_security_policy_objects_even_when_the_key_is_given(seed):
    assert all(obj["kind"] != "PodSecurityPolicy" for obj in seed.values())
    assert not list((CHART_DIR / "templates").glob("*psp*"))


# --- kubernetes-validate ---------------------------------------------------------------------------


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_every_manifest_validates_strictly(renders, cluster, kube_version):
    for obj in renders[cluster].values():
        kubernetes_validate.validate(obj, kube_version, strict=True)


def test_kubernetes_validate_would_reject_a_bad_deployment(seed):
    broken = yaml.safe_load(yaml.safe_dump(deployment(seed)))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 7
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.31", strict=True)
