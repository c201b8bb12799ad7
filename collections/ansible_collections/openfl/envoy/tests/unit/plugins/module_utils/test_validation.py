# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every input rule of module_utils/validation.py: the good case and each bad case with its message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Runs under ansible-test (which sets the path) and under plain pytest from the repository root.
_COLLECTIONS = str(Path(__file__).resolve().parents[7])
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.openfl.envoy.plugins.module_utils import validation as v  # noqa: E402

ENVOY = "envoy-1"
GOOD_CONFIG = {
    "params": {"cuda_devices": [], "install_requirements": True, "review_experiment": False},
    "optional_plugin_components": {},
    "shard_descriptor": {"template": "dummy_shard_descriptor.DummyShardDescriptor", "params": {"size": 128}},
}
DESCRIPTOR = "from openfl.interface.interactive_api.shard_descriptor import DummyShardDescriptor\n"


def python_dir(tmp_path, files: dict[str, str | bytes] | None = None, name: str = "python"):
    path = tmp_path / name
    path.mkdir()
    for name, content in (files or {"dummy_shard_descriptor.py": DESCRIPTOR, "requirements.txt": "numpy\n"}).items():
        if isinstance(content, bytes):
            (path / name).write_bytes(content)
        else:
            (path / name).write_text(content, encoding="utf-8")
    return path


def good_input(tmp_path, **overrides) -> v.EnvoyInput:
    values = dict(
        name=ENVOY,
        namespace="openfl-envoy-1",
        python_dir=str(python_dir(tmp_path, name="default-python")),
        envoy_config=GOOD_CONFIG,
        director_fqdn="director.example.org",
        director_ip="192.0.2.10",
        director_port=50051,
        director_agg_port=50052,
        registry="federatedai",
        image="fedlcm-openfl",
        image_tag="v0.3.0",
    )
    values.update(overrides)
    return v.EnvoyInput(**values)


def only(errors: list[str]) -> str:
    assert len(errors) == 1, errors
    return errors[0]


# --- the whole set --------------------------------------------------------------------------------


def test_good_input_passes_and_returns_configmap_data(tmp_path):
    report = v.validate_envoy(good_input(tmp_path))
    assert report.ok, report.errors
    assert report.configmap_data == {"dummy_shard_descriptor.py": DESCRIPTOR, "requirements.txt": "numpy\n"}


def test_every_error_is_reported_at_once(tmp_path):
    report = v.validate_envoy(
        good_input(tmp_path, namespace="Bad_NS", director_ip="director.example", director_port=0, image_tag="")
    )
    assert len(report.errors) == 4, report.errors
    assert all(e.startswith("envoy-1: ") for e in report.errors)
    assert report.configmap_data == {}


def test_error_format_names_envoy_field_and_rule():
    assert v.ip_address_errors("envoy-2", "director.example") == [
        "envoy-2: openfl_director_ip 'director.example' is not an IP address"
    ]


def test_unset_inputs_are_not_checked():
    assert v.validate_envoy(v.EnvoyInput(name=ENVOY)).ok


# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["envoy-1", "e", "a" * 53, "0envoy", "env0y-x-9"])
def test_envoy_name_ok(name):
    assert v.envoy_name_errors(name) == []


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("Envoy-1", "is not a DNS-1123 label"),
        ("envoy_1", "is not a DNS-1123 label"),
        ("-envoy", "is not a DNS-1123 label"),
        ("envoy-", "is not a DNS-1123 label"),
        ("envoy.1", "is not a DNS-1123 label"),
        ("a" * 54, "is 54 characters long; the limit is 53"),
        ("", "must be a non-empty string"),
    ],
)
def test_envoy_name_bad(name, rule):
    error = only(v.envoy_name_errors(name))
    assert error.startswith(f"{name}: inventory_hostname {name!r} ")
    assert rule in error


def test_envoy_name_must_equal_certificate_cn():
    assert v.envoy_name_errors("envoy-1", cert_cn="envoy-1") == []
    error = only(v.envoy_name_errors("envoy-1", cert_cn="Envoy-1"))
    assert "differs from the certificate common name 'Envoy-1'" in error


@pytest.mark.parametrize(
    ("namespace", "rule"),
    [
        ("Openfl", "is not a DNS-1123 label"),
        ("openfl_envoy", "is not a DNS-1123 label"),
        ("a" * 64, "the limit is 63"),
        ("kube-system", "is a reserved Kubernetes namespace"),
        ("default", "is a reserved Kubernetes namespace"),
        ("kube-envoy", "is a reserved Kubernetes namespace"),
        (None, "must be a non-empty string"),
    ],
)
def test_namespace_bad(namespace, rule):
    error = only(v.namespace_errors(ENVOY, namespace))
    assert error.startswith(f"envoy-1: openfl_envoy_namespace {namespace!r} ")
    assert rule in error


def test_namespace_ok():
    assert v.namespace_errors(ENVOY, "openfl-envoy-1") == []
    assert v.namespace_errors(ENVOY, "a" * 63) == []


def test_dns1123_subdomain():
    assert v.dns1123_subdomain_errors(ENVOY, "f", "a.b-c.d") == []
    assert "is not a DNS-1123 subdomain" in only(v.dns1123_subdomain_errors(ENVOY, "f", "a..b"))
    assert "the limit is 253" in only(v.dns1123_subdomain_errors(ENVOY, "f", ".".join(["a" * 60] * 5)))


# --- director ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fqdn", ["director", "Director.Example.ORG", "d1", "a-b.c-d", "a" * 63 + ".b"])
def test_director_fqdn_ok(fqdn):
    assert v.director_fqdn_errors(ENVOY, fqdn) == []


@pytest.mark.parametrize(
    ("fqdn", "rule"),
    [
        ("director.", "ends with a dot"),
        ("dir_ector", "label 'dir_ector'"),
        ("a..b", "label ''"),
        ("-director", "label '-director'"),
        ("a" * 64, "label"),
        ("d", "OpenFL requires 2 to 252"),
        (".".join(["a" * 62] * 5), "OpenFL requires 2 to 252"),
        ("", "must be a non-empty string"),
    ],
)
def test_director_fqdn_bad(fqdn, rule):
    error = only(v.director_fqdn_errors(ENVOY, fqdn))
    assert error.startswith(f"envoy-1: openfl_director_fqdn {fqdn!r} ")
    assert rule in error


@pytest.mark.parametrize("ip", ["192.0.2.10", "10.0.0.1", "2001:db8::1"])
def test_ip_ok(ip):
    assert v.ip_address_errors(ENVOY, ip) == []


@pytest.mark.parametrize("ip", ["director.example", "192.0.2.300", "", None, 17])
def test_ip_bad(ip):
    assert only(v.ip_address_errors(ENVOY, ip)) == f"envoy-1: openfl_director_ip {ip!r} is not an IP address"


@pytest.mark.parametrize("port", [1, 50051, 65535, "50052"])
def test_port_ok(port):
    assert v.port_errors(ENVOY, "openfl_director_port", port) == []


@pytest.mark.parametrize("port", [0, 65536, -1, "http", "", None, True, 5.5, "\u0665"])
def test_port_bad(port):
    error = only(v.port_errors(ENVOY, "openfl_director_agg_port", port))
    assert error == f"envoy-1: openfl_director_agg_port {port!r} is not a port number (an integer from 1 to 65535)"


def test_ports_must_differ(tmp_path):
    error = only(v.validate_envoy(good_input(tmp_path, director_agg_port=50051)).errors)
    assert "openfl_director_agg_port 50051 equals openfl_director_port" in error


# --- image ------------------------------------------------------------------------------------------


def test_image_ok():
    assert v.image_errors(ENVOY, "federatedai", "fedlcm-openfl", "v0.3.0") == []
    assert v.image_errors(ENVOY, "registry.example.org:5000/team", "openfl/envoy", "1.5_x") == []


@pytest.mark.parametrize(
    ("registry", "image", "tag", "field"),
    [
        ("", "fedlcm-openfl", "v1", "openfl_envoy_registry"),
        ("bad registry", "fedlcm-openfl", "v1", "openfl_envoy_registry"),
        ("federatedai", "FedLCM", "v1", "openfl_envoy_image"),
        ("federatedai", "fedlcm-openfl:v1", "v1", "openfl_envoy_image"),
        ("federatedai", "fedlcm-openfl", "", "openfl_envoy_image_tag"),
        ("federatedai", "fedlcm-openfl", 1.5, "openfl_envoy_image_tag"),
        ("federatedai", "fedlcm-openfl", "-x", "openfl_envoy_image_tag"),
    ],
)
def test_image_bad(registry, image, tag, field):
    error = only(v.image_errors(ENVOY, registry, image, tag))
    assert error.startswith(f"envoy-1: {field} ")


# --- configmap keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["a.py", "requirements.txt", "A-b_c.d", ".hidden"])
def test_configmap_key_ok(key):
    assert v.configmap_key_errors(ENVOY, key) == []


@pytest.mark.parametrize("key", ["my file.py", "a/b", "é.py", "", ".", "..", "..x", "a" * 254, "a:b"])
def test_configmap_key_bad(key):
    error = only(v.configmap_key_errors(ENVOY, key))
    assert error.startswith(f"envoy-1: openfl_envoy_python_dir file {key!r} ")


# --- envoy config -----------------------------------------------------------------------------------


def test_envoy_config_ok():
    assert v.envoy_config_errors(ENVOY, GOOD_CONFIG) == []
    assert v.envoy_config_errors(ENVOY, {"shard_descriptor": {"template": "m.C"}}) == []


@pytest.mark.parametrize(
    ("config", "where", "rule"),
    [
        ("text", "openfl_envoy_config ", "must be a mapping"),
        ({}, "openfl_envoy_config.shard_descriptor ", "is required"),
        ({"shard_descriptor": {"params": {}}}, "openfl_envoy_config.shard_descriptor.template ", "is required"),
        ({"shard_descriptor": {"template": "NoModule"}}, "shard_descriptor.template 'NoModule'", "'module.Class'"),
        ({"shard_descriptor": {"template": "m.C", "params": [1]}}, "shard_descriptor.params ", "must be a mapping"),
        ({"shard_descriptor": {"template": "m.C"}, "param": {}}, "openfl_envoy_config key 'param'", "is unknown"),
        (
            {"shard_descriptor": {"template": "m.C"}, "params": {"review_experiment": True}},
            "params.review_experiment True",
            "must not be true in a pod",
        ),
        (
            {"shard_descriptor": {"template": "m.C"}, "params": {"review_experiment": "no"}},
            "params.review_experiment 'no'",
            "must be true or false",
        ),
        (
            {"shard_descriptor": {"template": "m.C"}, "params": {"cuda_devices": "0"}},
            "params.cuda_devices '0'",
            "list of GPU indices",
        ),
        (
            {"shard_descriptor": {"template": "m.C"}, "params": {"cuda_device": [0]}},
            "params key 'cuda_device'",
            "is unknown",
        ),
        (
            {"shard_descriptor": {"template": "m.C"}, "optional_plugin_components": {"mon": {"settings": []}}},
            "optional_plugin_components.mon.template ",
            "is required",
        ),
        (
            {"shard_descriptor": {"template": "m.C"}, "optional_plugin_components": []},
            "optional_plugin_components ",
            "must be a mapping",
        ),
    ],
)
def test_envoy_config_bad(config, where, rule):
    error = only(v.envoy_config_errors(ENVOY, config))
    assert error.startswith("envoy-1: openfl_envoy_config")
    assert where in error
    assert rule in error


# --- python dir -------------------------------------------------------------------------------------


def test_python_dir_missing(tmp_path):
    missing = str(tmp_path / "nope")
    assert (
        only(v.read_python_dir(ENVOY, missing).errors) == f"envoy-1: openfl_envoy_python_dir {missing!r} does not exist"
    )


def test_python_dir_not_a_directory(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    assert "is not a directory" in only(v.read_python_dir(ENVOY, str(path)).errors)


def test_python_dir_empty(tmp_path):
    path = tmp_path / "empty"
    path.mkdir()
    assert "is empty" in only(v.read_python_dir(ENVOY, str(path)).errors)


def test_python_dir_subdirectory(tmp_path):
    path = python_dir(tmp_path)
    (path / "data").mkdir()
    error = only(v.read_python_dir(ENVOY, str(path)).errors)
    assert error.startswith("envoy-1: openfl_envoy_python_dir file 'data' is a subdirectory")


def test_python_dir_bad_key(tmp_path):
    path = python_dir(tmp_path, {"dummy_shard_descriptor.py": DESCRIPTOR, "my notes.txt": "x"})
    result = v.read_python_dir(ENVOY, str(path))
    assert "file 'my notes.txt' is not a valid ConfigMap key" in only(result.errors)
    assert "my notes.txt" not in result.data


def test_python_dir_binary_file(tmp_path):
    path = python_dir(tmp_path, {"dummy_shard_descriptor.py": DESCRIPTOR, "weights.bin": b"\x89PNG\xff\x00"})
    assert "file 'weights.bin' is not UTF-8 text" in only(v.read_python_dir(ENVOY, str(path)).errors)


def test_python_dir_nul_byte_is_binary(tmp_path):
    path = python_dir(tmp_path, {"dummy_shard_descriptor.py": DESCRIPTOR, "x.txt": b"abc\x00"})
    assert "file 'x.txt' is not UTF-8 text" in only(v.read_python_dir(ENVOY, str(path)).errors)


def test_python_dir_too_large(tmp_path):
    path = python_dir(tmp_path, {"dummy_shard_descriptor.py": DESCRIPTOR, "big.txt": "x" * v.CONFIGMAP_MAX_BYTES})
    error = only(v.read_python_dir(ENVOY, str(path)).errors)
    assert "over the ConfigMap limit of 1048576 bytes (1 MiB)" in error


def test_python_dir_exactly_at_limit(tmp_path):
    size = v.CONFIGMAP_MAX_BYTES - len("big.txt")
    path = python_dir(tmp_path, {"big.txt": "x" * size})
    result = v.read_python_dir(ENVOY, str(path))
    assert result.errors == []
    assert result.total_bytes == v.CONFIGMAP_MAX_BYTES


def test_python_dir_utf8_text_kept_exactly(tmp_path):
    text = "# ünïcode\r\nprint('x')\n\n"
    path = python_dir(tmp_path, {"m.py": text})
    assert v.read_python_dir(ENVOY, str(path)).data == {"m.py": text}


# --- shard descriptor template vs python dir -----------------------------------------------------


def config_with(template: str) -> dict:
    return {"shard_descriptor": {"template": template}}


def test_template_module_missing(tmp_path):
    report = v.validate_envoy(
        good_input(tmp_path, envoy_config=config_with("mnist_shard_descriptor.MnistShardDescriptor"))
    )
    error = only(report.errors)
    assert error.startswith(
        "envoy-1: openfl_envoy_config.shard_descriptor.template 'mnist_shard_descriptor.MnistShardDescriptor' "
        "needs 'mnist_shard_descriptor.py' in openfl_envoy_python_dir"
    )


def test_template_dotted_module(tmp_path):
    template = "openfl.interface.interactive_api.shard_descriptor.DummyShardDescriptor"
    error = only(v.validate_envoy(good_input(tmp_path, envoy_config=config_with(template))).errors)
    assert "cannot be a file of the flat python dir" in error


def test_template_class_not_defined(tmp_path):
    error = only(
        v.validate_envoy(good_input(tmp_path, envoy_config=config_with("dummy_shard_descriptor.Other"))).errors
    )
    assert "names class 'Other', which 'dummy_shard_descriptor.py' does not define" in error


def test_template_module_syntax_error(tmp_path):
    path = python_dir(tmp_path, {"m.py": "class C(:\n"})
    error = only(v.validate_envoy(good_input(tmp_path, python_dir=str(path), envoy_config=config_with("m.C"))).errors)
    assert error.startswith("envoy-1: openfl_envoy_python_dir file 'm.py' is not valid Python")


@pytest.mark.parametrize(
    "source",
    [
        "class C:\n    pass\n",
        "from x import Y as C\n",
        "C = make()\n",
        "from x import *\n",
        "try:\n    C = 1\nexcept E:\n    C = 2\n",
    ],
)
def test_template_class_bindings_accepted(tmp_path, source):
    path = python_dir(tmp_path, {"m.py": source})
    assert v.validate_envoy(good_input(tmp_path, python_dir=str(path), envoy_config=config_with("m.C"))).ok


def test_binary_module_not_reported_as_missing(tmp_path):
    path = python_dir(tmp_path, {"m.py": b"\xff\xfe"})
    errors = v.validate_envoy(good_input(tmp_path, python_dir=str(path), envoy_config=config_with("m.C"))).errors
    assert "file 'm.py' is not UTF-8 text" in only(errors)


def test_a_namespace_two_envoys_claim_on_one_cluster_is_an_error_for_both():
    from ansible_collections.openfl.envoy.plugins.module_utils.envoy_inputs import shared_namespace_errors

    claims = [("e1", "site-a", "openfl"), ("e2", "site-a", "openfl"), ("e3", "site-b", "openfl"), ("e4", "site-a", "x")]
    errors = shared_namespace_errors(claims)
    assert set(errors) == {"e1", "e2"}
    assert errors["e1"] == [
        "e1: openfl_envoy_namespace 'openfl' is also used by e2 on the same cluster; each envoy needs its own namespace"
    ]
