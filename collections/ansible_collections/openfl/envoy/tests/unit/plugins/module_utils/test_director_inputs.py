# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The director's preflight (module_utils/director_inputs.py): the good case, and each bad input with its message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Runs under ansible-test (which sets the path) and under plain pytest from the repository root.
_COLLECTIONS = str(Path(__file__).resolve().parents[7])
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.openfl.envoy.plugins.module_utils.director_inputs import director_errors  # noqa: E402

GOOD = {
    "name": "director",
    "namespace": "openfl-director",
    "fqdn": "director.fl.example.org",
    "sample_shape": ["28", "28", "1"],
    "target_shape": [1],
    "envoy_health_check_period": 60,
    "service_type": "NodePort",
    "node_port": 0,
    "agg_node_port": "0",
    "notebook_enabled": False,
    "notebook_password_hash": None,
}


def envoy(name: str, **params) -> dict:
    config = {"shard_descriptor": {"template": "d.D", "params": params}}
    return {"name": name, "envoy_config": config}


def test_good_inputs_and_matching_or_undeclared_envoy_shapes_pass():
    envoys = [envoy("envoy-1", sample_shape=[28, 28, 1], target_shape=["1"]), envoy("envoy-2"),
              {"name": "envoy-3", "envoy_config": "shard_descriptor: {template: d.D}"}]  # fmt: skip
    assert director_errors(GOOD, envoys) == []
    assert director_errors(dict(GOOD, service_type="LoadBalancer", node_port=30051, agg_node_port=30052), []) == []


BAD = [
    ("name", "Director_1", "Director_1: inventory_hostname 'Director_1' is not a DNS-1123 label"),
    ("name", "d" * 54, "is 54 characters long; the limit is 53"),
    ("namespace", None, "director: openfl_director_namespace None must be a non-empty string"),
    ("namespace", "Openfl", "director: openfl_director_namespace 'Openfl' is not a DNS-1123 label"),
    ("fqdn", "director.example.org.", "director: openfl_director_fqdn 'director.example.org.' ends with a dot"),
    ("fqdn", None, "director: openfl_director_fqdn"),
    ("sample_shape", None, "director: openfl_director_sample_shape None must be a non-empty list of positive"),
    ("sample_shape", [], "openfl_director_sample_shape [] must be a non-empty list"),
    ("sample_shape", "28,28", "openfl_director_sample_shape '28,28' must be a non-empty list"),
    ("target_shape", ["0"], "director: openfl_director_target_shape ['0'] must be a non-empty list of positive"),
    ("target_shape", [True], "openfl_director_target_shape [True] must be a non-empty list"),
    ("envoy_health_check_period", 0, "director: openfl_director_envoy_health_check_period 0 must be a number of"),
    ("envoy_health_check_period", "often", "openfl_director_envoy_health_check_period 'often' must be"),
    ("service_type", "Ingress", "director: openfl_director_service_type 'Ingress' must be one of NodePort, Load"),
    ("node_port", 50051, "director: openfl_director_node_port 50051 must be 0 (allocated by the cluster) or a port"),
    ("agg_node_port", "x", "director: openfl_director_agg_node_port 'x' must be 0"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD, ids=[f"{f}={v!r}"[:40] for f, v, _message in BAD])
def test_each_bad_director_input_is_named(field, value, message):
    errors = director_errors(dict(GOOD, **{field: value}), [])
    assert any(message in error for error in errors), errors


def test_fixed_node_ports_must_differ_and_need_an_exposed_service():
    same = director_errors(dict(GOOD, node_port=30051, agg_node_port=30051), [])
    assert same == ["director: openfl_director_agg_node_port 30051 equals openfl_director_node_port; they must differ"]
    cluster_ip = director_errors(dict(GOOD, service_type="ClusterIP", node_port=30051), [])
    assert cluster_ip == [
        "director: openfl_director_node_port 30051 is set but openfl_director_service_type is ClusterIP, "
        "which has no nodePorts"
    ]


def test_the_fqdn_must_not_be_an_envoys_name():
    errors = director_errors(dict(GOOD, fqdn="envoy-1"), [envoy("envoy-1")])
    assert errors == ["director: openfl_director_fqdn 'envoy-1' equals an envoy's name; give the director its own"]


def test_a_notebook_needs_a_password_hash_which_is_never_shown():
    errors = director_errors(dict(GOOD, notebook_enabled=True, notebook_password_hash="hunter2"), [])
    assert len(errors) == 1 and "openfl_director_notebook_password_hash must be a Jupyter password hash" in errors[0]
    assert "hunter2" not in errors[0]
    good_hash = "sha1:12345678:" + "a" * 40
    assert director_errors(dict(GOOD, notebook_enabled=True, notebook_password_hash=good_hash), []) == []


def test_an_envoy_whose_declared_shapes_differ_is_named_with_both_shapes():
    errors = director_errors(GOOD, [envoy("envoy-7", sample_shape=["1"], target_shape=["1"])])
    assert errors == [
        "envoy-7: openfl_envoy_config shard_descriptor.params.sample_shape ['1'] differs from director director's "
        "openfl_director_sample_shape ['28', '28', '1']: the director would refuse the shard (Request was not "
        "accepted); make them equal"
    ]


def test_an_envoy_dialling_another_name_than_the_directors_certificate_is_named():
    errors = director_errors(GOOD, [{"name": "envoy-8", "director_fqdn": "director.other.org"}])
    assert errors == [
        "envoy-8: openfl_director_fqdn 'director.other.org' differs from director director's "
        "'director.fl.example.org', the name its certificate carries: the envoy's TLS check would fail; set it for "
        "every host (group_vars/all) or not at all on the envoy"
    ]
    assert director_errors(GOOD, [{"name": "envoy-9", "director_fqdn": "director.fl.example.org"}]) == []
