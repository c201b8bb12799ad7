# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The director's exposed address read back (module_utils/director.py) and the envoys' settings checked against it."""

from __future__ import annotations

import sys
from pathlib import Path

# Runs under ansible-test (which sets the path) and under plain pytest from the repository root.
_COLLECTIONS = str(Path(__file__).resolve().parents[7])
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.openfl.envoy.plugins.module_utils.director import (  # noqa: E402
    Address,
    address_checks,
    exposed_address,
)

PORTS = [
    {"name": "director", "port": 50051, "nodePort": 31051},
    {"name": "agg", "port": 50052, "nodePort": 31052},
]


def service(kind: str, ingress: list | None = None) -> dict:
    status = {"loadBalancer": {"ingress": ingress}} if ingress is not None else {}
    return {"spec": {"type": kind, "clusterIP": "10.96.0.7", "ports": PORTS}, "status": status}


def node(name: str, **addresses: str) -> dict:
    listed = [{"type": kind, "address": address} for kind, address in addresses.items()]
    return {"metadata": {"name": name}, "status": {"addresses": listed}}


def test_node_port_prefers_a_nodes_external_ip_then_its_internal_ip():
    nodes = [node("n1", InternalIP="10.0.0.1"), node("n2", InternalIP="10.0.0.2", ExternalIP="203.0.113.9")]
    address, why = exposed_address(service("NodePort"), nodes)
    assert why == "" and address == Address("203.0.113.9", 31051, 31052, "NodePort", "node n2 ExternalIP")
    address, _why = exposed_address(service("NodePort"), [node("n1", InternalIP="10.0.0.1")])
    assert (address.ip, address.source) == ("10.0.0.1", "node n1 InternalIP")
    assert exposed_address(service("NodePort"), []) == (None, "no node reports an ExternalIP or InternalIP address")


def test_load_balancer_needs_an_ingress_ip_and_uses_the_service_ports():
    assert exposed_address(service("LoadBalancer", []), []) == (None, "the load balancer has no ingress IP yet")
    address, _why = exposed_address(service("LoadBalancer", [{"ip": "198.51.100.4"}]), [])
    assert address == Address("198.51.100.4", 50051, 50052, "LoadBalancer", "load balancer ingress")
    address, why = exposed_address(service("LoadBalancer", [{"hostname": "lb.example.org"}]), [])
    assert address is None and "host name lb.example.org, not an IP" in why and "set openfl_director_ip" in why


def test_cluster_ip_and_a_missing_port():
    address, _why = exposed_address(service("ClusterIP"), [])
    assert (address.ip, address.port, address.agg_port) == ("10.96.0.7", 50051, 50052)
    broken = service("NodePort")
    broken["spec"]["ports"] = PORTS[:1]
    assert exposed_address(broken, [node("n", InternalIP="10.0.0.1")]) == (
        None,
        "Service director has no agg port (type NodePort)",
    )


def test_set_values_must_equal_the_read_back_ones_and_unset_ones_are_not_compared():
    address = Address("203.0.113.9", 31051, 31052, "NodePort", "node n2 ExternalIP")
    envoys = [
        {"name": "envoy-1", "ip": None, "port": None, "agg_port": None},
        {"name": "envoy-2", "ip": "203.0.113.9", "port": "31051", "agg_port": 31052},
        {"name": "envoy-3", "ip": "203.0.113.10", "port": 31051, "agg_port": ""},
    ]
    results = address_checks(address, [], envoys, "director", require=True)
    assert [results[e]["failed"] for e in ("envoy-1", "envoy-2", "envoy-3")] == [False, False, True]
    assert results["envoy-3"]["msg"] == (
        "envoy-3: openfl_director_ip '203.0.113.10' differs from the director's read-back '203.0.113.9' (NodePort, "
        "node n2 ExternalIP): remove openfl_director_ip from the inventory to use the read-back value, or fix it"
    )


def test_without_a_read_back_address_unset_settings_fail_only_when_required():
    envoys = [{"name": "envoy-1", "ip": None, "port": None, "agg_port": None},
              {"name": "envoy-2", "ip": "203.0.113.9", "port": 50051, "agg_port": 50052}]  # fmt: skip
    waiting = ["Service director (not found in namespace openfl-director)"]
    assert not any(r["failed"] for r in address_checks(None, waiting, envoys, "director", require=False).values())
    required = address_checks(None, waiting, envoys, "director", require=True)
    assert not required["envoy-2"]["failed"]
    assert required["envoy-1"]["msg"] == (
        "envoy-1: openfl_director_ip, openfl_director_port, openfl_director_agg_port not set and director director "
        "has no address to read back (waiting for Service director (not found in namespace openfl-director)): run "
        "the director stage first (site.yml without --limit, or --limit director), or set them in the inventory"
    )
