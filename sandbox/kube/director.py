"""Director containers for the kubelet test double: which they are, and what an emulated one logs.

A director pod (the openfl-director chart: `fx director start`) runs for real like an envoy pod
(containers.py), with its Service's nodePorts published on the node address (nodes.py,
podenv/sitecustomize.py). Without a runner (`--envoys emulated`) it gets the line OpenFL 1.5's
director logs once it listens, so the health check reads the same thing.
"""

from __future__ import annotations

from datetime import UTC, datetime

LISTEN_ADDRESS = "0.0.0.0:50051"  # the chart's director_config.yaml: listen_host, listen_port


def is_director(container: dict) -> bool:
    return "fx director start" in " ".join((container.get("command") or []) + (container.get("args") or []))


def emulated_log() -> list[str]:
    stamp = f"[{datetime.now(UTC):%m/%d/%y %H:%M:%S}]"
    return [f"{stamp} INFO     Starting server on {LISTEN_ADDRESS}    director_server.py:121"]
