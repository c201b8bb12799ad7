"""Kubernetes API test double: an in-memory API server on 127.0.0.1 with a small kubelet.

It serves what kubernetes.core and kubectl use (discovery, namespaces, nodes, secrets, configmaps,
serviceaccounts, services with nodePorts, deployments, pods and their logs, events) with real validation and
real `Status` errors. It is not a Kubernetes: use it for tests and demos only.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from .api import Api, now
from .containers import ContainerRunner
from .kubelet import Kubelet
from .nodes import seed_node
from .resources import BY_PATH, PODS
from .server import KubeHTTPServer
from .store import Store

__all__ = ["KubeServer"]


class KubeServer:
    """One emulated cluster: `start()` serves it in threads; `url` and `token` reach it."""

    def __init__(
        self,
        token: str | None = None,
        viewer_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        restart_interval: float = 1.0,
        runner: ContainerRunner | None = None,
        gate: Callable[[], bool] | None = None,
        openfl_version: str = "1.5",
    ) -> None:
        """`runner`: run envoy containers for real (else emulated, logging `openfl_version`'s wording);
        `gate`: when they may start. `token` is the admin identity's, `viewer_token` a read-only
        identity's (see access.py)."""
        self.token = token or secrets.token_urlsafe(32)
        self.viewer_token = viewer_token or secrets.token_urlsafe(32)
        self.store = Store()
        self.api = Api(self.store)
        self.kubelet = Kubelet(self.store, restart_interval, runner, gate, openfl_version)
        seed_node(self.store, now())
        self._http = KubeHTTPServer((host, port), self.api, self.kubelet, self.token, self.viewer_token)
        self._thread = threading.Thread(target=self._http.serve_forever, name="kube-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.kubelet.start()
        self._thread.start()

    def stop(self) -> None:
        self.store.close()
        self.kubelet.stop()
        self._http.shutdown()
        self._http.server_close()

    def reset(self) -> None:
        """Forget every object (and the kubelet's pod logs)."""
        with self.store.lock:
            self.store.clear()
            self.kubelet.forget_all()
            seed_node(self.store, now())

    def save_state(self) -> dict:
        """The cluster's state (objects, resourceVersion counter, kubelet runtime), JSON-shaped."""
        with self.store.lock:
            return {"store": self.store.snapshot(), "kubelet": self.kubelet.snapshot()}

    def load_state(self, state: dict) -> None:
        """Load a `save_state()` (before `start()`): the same objects and resourceVersions, pods as they were."""
        with self.store.lock:
            self.store.restore(state["store"])
            seed_node(self.store, now())
            self.kubelet.restore(state.get("kubelet") or {})

    def get(self, plural: str, namespace: str, name: str, group: str = "") -> dict | None:
        """Direct inspection for tests, bypassing HTTP: e.g. `get("deployments", "ns", "envoy", "apps")`."""
        return self.store.get(BY_PATH[(group, "v1", plural)], namespace, name)

    def pod_log(self, namespace: str, name: str, previous: bool = False) -> str:
        pod = self.store.get(PODS, namespace, name)
        return "".join(line + "\n" for line in self.kubelet.log(pod, previous)) if pod else ""
