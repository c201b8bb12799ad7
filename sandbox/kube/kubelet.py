"""A tiny kubelet and Deployment controller for the Kubernetes API test double.

Pods start only when the Secrets/ConfigMaps they mount exist with the keys they use. Envoy
containers (their command runs `fx envoy start`) either run for real, as a local process over the
pod's mounted files (`runner`, see containers.py: what `python -m sandbox up` does by default), or
get the log `envoy.run` decides (the emulation: `--envoys emulated`, and `Kubelet` without runner).
Everything runs under the store lock, right after the write that made it necessary, plus a tick
(every `restart_interval`) that notices exited processes and restarts crash-looping containers
with Kubernetes' back-off (first restart at once, then 10 s, 20 s, ... up to 300 s, scaled by
`restart_interval`), reporting `CrashLoopBackOff` while it waits.
"""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from . import director, envoy
from .api import now
from .containers import ContainerRunner, VolumeFiles
from .nodes import SERVICES, published_ports
from .podstatus import BACKOFF_FIRST, BACKOFF_MAX, condition, max_unavailable, object_data, pod_ready, pod_status
from .resources import CONFIGMAPS, DEPLOYMENTS, EVENTS, PODS, SECRETS, SERVICEACCOUNTS, Resource
from .store import Store

NODE = "sandbox-node"
HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
DEFAULT_MODE = 0o644


@dataclass
class Runtime:
    """What the emulated container runtime knows about one pod (by uid)."""

    state: str = "waiting"  # waiting | running | crashing
    log: list[str] = field(default_factory=list)
    restarts: int = 0
    started_at: str = ""
    events: dict[tuple[str, str], str] = field(default_factory=dict)
    # Real containers only (not saved): the last exit, when the next start may happen, whether the
    # start waits for the runner's gate (the director being up), the back-off shown.
    exit_code: int = 1
    finished_at: str = ""
    next_start: float = 0.0
    held: bool = False
    backoff: float = 0.0
    ports: str = ""  # the nodePorts the process binds (nodes.published_ports)


class Kubelet:
    def __init__(
        self,
        store: Store,
        restart_interval: float = 1.0,
        runner: ContainerRunner | None = None,
        gate: Callable[[], bool] | None = None,
        openfl_version: str = "1.5",
    ) -> None:
        self.store = store
        self.restart_interval = restart_interval
        self.runner = runner  # None: envoy containers are emulated
        self.gate = gate  # real containers start only when it says so (e.g. the director is up)
        self.openfl_version = openfl_version  # whose wording the emulated envoys log
        self.runtimes: dict[str, Runtime] = {}
        self.create_failures: dict[str, str] = {}  # Deployment uid -> why its pods cannot be created
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick_loop, name="kubelet", daemon=True)
        store.subscribe(self._on_change)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the tick and every real container (their last output stays in the runtime's log)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self.runner is not None:
            with self.store.lock:
                for uid, runtime in self.runtimes.items():
                    runtime.log = self._real_log(uid, runtime)
                self.runner.stop_all()

    def forget_all(self) -> None:
        """Forget every pod runtime (and stop real containers)."""
        with self.store.lock:
            if self.runner is not None:
                for uid in list(self.runtimes):
                    self.runner.discard(uid)
            self.runtimes.clear()

    def snapshot(self) -> dict:
        """What the runtime knows (pod state, log, restarts, event names) and the admission failures."""
        with self.store.lock:
            runtimes = {
                uid: {
                    "state": r.state,
                    "log": list(r.log),
                    "restarts": r.restarts,
                    "started_at": r.started_at,
                    "events": [[reason, message, name] for (reason, message), name in r.events.items()],
                }
                for uid, r in self.runtimes.items()
            }
            return {"runtimes": runtimes, "create_failures": dict(self.create_failures)}

    def restore(self, snapshot: dict) -> None:
        """Load a `snapshot()` taken with the store's objects: running pods keep running with their log."""
        with self.store.lock:
            self.runtimes = {
                uid: Runtime(
                    state=r["state"],
                    log=list(r["log"]),
                    restarts=int(r["restarts"]),
                    started_at=r["started_at"],
                    events={(reason, message): name for reason, message, name in r["events"]},
                )
                for uid, r in (snapshot.get("runtimes") or {}).items()
            }
            self.create_failures = dict(snapshot.get("create_failures") or {})
            if self.runner is not None:
                # As after a node reboot: every real container starts again (restart count kept).
                restart = set()
                for pod in self.store.list(PODS):
                    runtime = self.runtimes.get(pod["metadata"]["uid"])
                    if runtime is not None and self._real_container(pod) is not None and runtime.state != "waiting":
                        runtime.state = "waiting"
                        restart.add(pod["metadata"]["namespace"])
                for namespace in sorted(restart):
                    self.reconcile(namespace)
            # A pod the runtime never saw (a state written by hand) is started as after a node reboot.
            unknown = {
                p["metadata"]["namespace"] for p in self.store.list(PODS) if p["metadata"]["uid"] not in self.runtimes
            }
            for namespace in sorted(unknown):
                self.reconcile(namespace)

    def log(self, pod: dict, previous: bool = False) -> list[str]:
        """What `kubectl logs [--previous]` shows (the emulation has one log for every start)."""
        uid = pod["metadata"]["uid"]
        runtime = self.runtimes.get(uid)
        if runtime is None:
            return []
        if self.runner is not None and self._real_container(pod) is not None:
            lines = self.runner.log(uid, previous)
            if lines is not None:
                return lines
        return list(runtime.log)

    def _real_log(self, uid: str, runtime: Runtime) -> list[str]:
        lines = self.runner.log(uid) if self.runner is not None else None
        return lines if lines is not None else list(runtime.log)

    def _on_change(self, resource: Resource, namespace: str) -> None:
        if resource in (DEPLOYMENTS, PODS, SECRETS, CONFIGMAPS, SERVICEACCOUNTS, SERVICES) and namespace:
            self.reconcile(namespace)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.restart_interval):
            with self.store.lock:
                pods = self.store.list(PODS)
                live = {p["metadata"]["uid"] for p in pods}
                for uid in [u for u in self.runtimes if u not in live]:
                    del self.runtimes[uid]  # pods removed with their namespace
                    if self.runner is not None:
                        self.runner.discard(uid)
                if self.runner is not None:
                    for pod in pods:
                        self._notice_exit(pod)
                namespaces = {p["metadata"]["namespace"] for p in pods if self._is_crashing(p) or self._is_held(p)}
                for namespace in namespaces:
                    self.reconcile(namespace, restart=True)

    def _is_crashing(self, pod: dict) -> bool:
        runtime = self.runtimes.get(pod["metadata"]["uid"])
        return runtime is not None and runtime.state == "crashing"

    def _is_held(self, pod: dict) -> bool:
        runtime = self.runtimes.get(pod["metadata"]["uid"])
        return runtime is not None and runtime.held

    def _notice_exit(self, pod: dict) -> None:
        """A real container that exited: the first exit restarts at once, later ones back off (CrashLoopBackOff)."""
        uid = pod["metadata"]["uid"]
        runtime = self.runtimes.get(uid)
        if runtime is None or runtime.state != "running" or self.runner is None:
            return
        code = self.runner.exit_code(uid)
        if code is None:
            return
        runtime.state, runtime.exit_code, runtime.finished_at = "crashing", code, now()
        runtime.log = self._real_log(uid, runtime)
        scale = self.restart_interval
        backoff = BACKOFF_FIRST * 2 ** (runtime.restarts - 1) if runtime.restarts else 0.0
        runtime.backoff = min(backoff, BACKOFF_MAX)
        runtime.next_start = time.monotonic() + runtime.backoff * scale
        if runtime.backoff:
            name = pod["spec"]["containers"][0]["name"]
            message = f"Back-off restarting failed container {name} in pod {pod['metadata']['name']}"
            self._event(pod, "Warning", "BackOff", message, runtime)
            self._write_pod(pod, runtime, waiting="CrashLoopBackOff")

    def reconcile(self, namespace: str, restart: bool = False) -> None:
        with self.store.lock:
            deployments = self.store.list(DEPLOYMENTS, namespace)
            for deployment in deployments:
                self._scale(deployment)
            self._collect_orphans(namespace, {d["metadata"]["uid"] for d in deployments})
            for pod in self.store.list(PODS, namespace):
                self._sync_pod(pod, restart)
            for deployment in deployments:
                self._update_deployment_status(deployment)

    # Deployment controller ------------------------------------------------------------------

    @staticmethod
    def template_hash(deployment: dict) -> str:
        digest = hashlib.sha256(json.dumps(deployment["spec"]["template"], sort_keys=True).encode()).digest()
        return "".join(HASH_ALPHABET[b % len(HASH_ALPHABET)] for b in digest[:10])

    def _owned_pods(self, deployment: dict) -> list[dict]:
        uid = deployment["metadata"]["uid"]
        pods = self.store.list(PODS, deployment["metadata"]["namespace"])
        return [p for p in pods if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences") or [])]

    def _scale(self, deployment: dict) -> None:
        current_hash = self.template_hash(deployment)
        pods = self._owned_pods(deployment)
        keep = [p for p in pods if p["metadata"].get("labels", {}).get("pod-template-hash") == current_hash]
        for pod in pods:
            if pod not in keep:
                self._remove_pod(pod)
        wanted = deployment["spec"].get("replicas", 1)
        for pod in keep[wanted:]:
            self._remove_pod(pod)
        refusal = self._admission_refusal(deployment, current_hash)
        if refusal:
            self.create_failures[deployment["metadata"]["uid"]] = refusal
            return
        self.create_failures.pop(deployment["metadata"]["uid"], None)
        for _ in range(wanted - len(keep)):
            self._create_pod(deployment, current_hash)

    def _admission_refusal(self, deployment: dict, template_hash: str) -> str:
        """Why the API would refuse the Deployment's pods (a missing ServiceAccount), or ""."""
        meta = deployment["metadata"]
        account = deployment["spec"]["template"].get("spec", {}).get("serviceAccountName") or "default"
        if self.store.get(SERVICEACCOUNTS, meta["namespace"], account) is not None:
            return ""
        return (
            f'pods "{meta["name"]}-{template_hash}-" is forbidden: error looking up service account '
            f'{meta["namespace"]}/{account}: serviceaccount "{account}" not found'
        )

    def _remove_pod(self, pod: dict) -> None:
        self.store.remove(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"], notify=False)
        self.runtimes.pop(pod["metadata"]["uid"], None)
        if self.runner is not None:
            self.runner.discard(pod["metadata"]["uid"])

    def _create_pod(self, deployment: dict, template_hash: str) -> None:
        meta = deployment["metadata"]
        template = copy.deepcopy(deployment["spec"]["template"])
        suffix = "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(5))
        pod_meta = template.get("metadata") or {}
        pod_meta.update(
            name=f"{meta['name']}-{template_hash}-{suffix}",
            generateName=f"{meta['name']}-{template_hash}-",
            namespace=meta["namespace"],
            uid=str(uuid.uuid4()),
            creationTimestamp=now(),
            labels={**(pod_meta.get("labels") or {}), "pod-template-hash": template_hash},
            ownerReferences=[
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"], "uid": meta["uid"],
                 "controller": True, "blockOwnerDeletion": True}
            ],
        )  # fmt: skip
        spec = template.get("spec") or {}
        spec.update(nodeName=NODE)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec, "status": {"phase": "Pending"}}
        self.store.put(PODS, pod, notify=False)
        self._event(
            pod, "Normal", "Scheduled", f"Successfully assigned {meta['namespace']}/{pod_meta['name']} to {NODE}"
        )

    def _collect_orphans(self, namespace: str, live_owners: set[str]) -> None:
        for pod in self.store.list(PODS, namespace):
            owners = pod["metadata"].get("ownerReferences") or []
            if owners and not any(o.get("uid") in live_owners for o in owners if o.get("kind") == "Deployment"):
                self._remove_pod(pod)

    def _update_deployment_status(self, deployment: dict) -> None:
        current = self.store.get(DEPLOYMENTS, deployment["metadata"]["namespace"], deployment["metadata"]["name"])
        if current is None:
            return
        status = self._deployment_status(current)
        if status != current.get("status"):
            current["status"] = status
            self.store.put(DEPLOYMENTS, current, notify=False)

    def _deployment_status(self, deployment: dict) -> dict:
        template_hash = self.template_hash(deployment)
        pods = self._owned_pods(deployment)
        wanted = deployment["spec"].get("replicas", 1)
        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(1 for p in pods if p["metadata"]["labels"].get("pod-template-hash") == template_hash)
        counts = {
            "replicas": len(pods),
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(wanted - ready, 0),
        }
        status: dict = {"observedGeneration": deployment["metadata"].get("generation", 1)}
        status.update({k: v for k, v in counts.items() if v})
        old = {c["type"]: c for c in (deployment.get("status") or {}).get("conditions") or []}
        replica_set = f"{deployment['metadata']['name']}-{template_hash}"
        available = ready >= wanted - max_unavailable(deployment, wanted)
        complete = updated == wanted and ready == wanted and len(pods) == wanted
        available_text = (
            "Deployment has minimum availability." if available else "Deployment does not have minimum availability."
        )
        progress_text = f'ReplicaSet "{replica_set}" ' + (
            "has successfully progressed." if complete else "is progressing."
        )
        status["conditions"] = [
            condition(
                old.get("Available"),
                "Available",
                available,
                "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                available_text,
            ),
            condition(
                old.get("Progressing"),
                "Progressing",
                True,
                "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                progress_text,
            ),
        ]
        failure = self.create_failures.get(deployment["metadata"]["uid"])
        if failure:
            status["conditions"].append(
                condition(old.get("ReplicaFailure"), "ReplicaFailure", True, "FailedCreate", failure)
            )
        return status

    # Kubelet --------------------------------------------------------------------------------

    def _sync_pod(self, pod: dict, restart: bool) -> None:
        runtime = self.runtimes.setdefault(pod["metadata"]["uid"], Runtime())
        if runtime.state == "running":
            self._republish(pod, runtime)
            return
        if runtime.state == "crashing" and not restart:
            return
        problems = self._mount_problems(pod)
        if problems:
            for message in problems:
                self._event(pod, "Warning", "FailedMount", message, runtime)
            self._write_pod(pod, runtime, waiting="ContainerCreating")
            return
        container = self._real_container(pod)
        if container is not None:
            self._start_real(pod, container, runtime)
            return
        if runtime.state == "crashing":
            runtime.restarts += 1
        ok, lines = self._start_containers(pod)
        runtime.log = lines
        runtime.started_at = now()
        runtime.state = "running" if ok else "crashing"
        if ok:
            self._event(pod, "Normal", "Started", f"Started container {pod['spec']['containers'][0]['name']}", runtime)
            self._write_pod(pod, runtime)
        else:
            if runtime.restarts == 0:
                runtime.restarts = 1
            name = pod["spec"]["containers"][0]["name"]
            self._event(
                pod,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {name} in pod {pod['metadata']['name']}",
                runtime,
            )
            self._write_pod(pod, runtime, waiting="CrashLoopBackOff")

    def _real_container(self, pod: dict) -> dict | None:
        """The container that runs for real (the envoy's), when this kubelet has a runner."""
        if self.runner is None:
            return None
        containers = pod["spec"].get("containers") or []
        return next((c for c in containers if envoy.is_envoy(c) or director.is_director(c)), None)

    def _republish(self, pod: dict, runtime: Runtime) -> None:
        """A Service exposing a running real container changed its nodePorts: the process binds them
        itself (no kube-proxy), so it starts again on the new ones (not a container restart)."""
        container = self._real_container(pod)
        if container is None or published_ports(self.store, pod, container) == runtime.ports:
            return
        runtime.ports = published_ports(self.store, pod, container)
        namespace = pod["metadata"]["namespace"]
        assert self.runner is not None
        self.runner.start(pod, container, lambda volume: self._volume_files(namespace, volume), self._port_env(runtime))

    @staticmethod
    def _port_env(runtime: Runtime) -> dict[str, str]:
        return {"SANDBOX_POD_PORTS": runtime.ports} if runtime.ports else {}

    def _start_real(self, pod: dict, container: dict, runtime: Runtime) -> None:
        if runtime.state == "crashing" and time.monotonic() < runtime.next_start:
            return
        if self.gate is not None and envoy.is_envoy(container) and not self.gate():
            runtime.held = True
            if runtime.state != "crashing":
                self._write_pod(pod, runtime, waiting="ContainerCreating")
            return
        runtime.held = False
        if runtime.state == "crashing":
            runtime.restarts += 1
        namespace = pod["metadata"]["namespace"]
        assert self.runner is not None
        runtime.ports = published_ports(self.store, pod, container)
        self.runner.start(pod, container, lambda volume: self._volume_files(namespace, volume), self._port_env(runtime))
        runtime.state, runtime.started_at, runtime.log = "running", now(), []
        self._event(pod, "Normal", "Started", f"Started container {container['name']}", runtime)
        self._write_pod(pod, runtime)

    def _volume_files(self, namespace: str, volume: dict) -> VolumeFiles | None:
        """The files a Secret/ConfigMap volume projects: (path, content, mode), as the kubelet writes them."""
        found = self._source(namespace, volume)
        if found is None or found[1] is None:
            return None
        _, obj, source = found
        data = object_data(obj)
        default_mode = source.get("defaultMode", DEFAULT_MODE)
        if source.get("items"):
            items = [i for i in source["items"] if i.get("key") in data]
            return [(i["path"], data[i["key"]], i.get("mode", default_mode)) for i in items]
        return [(key, value, default_mode) for key, value in sorted(data.items())]

    def _start_containers(self, pod: dict) -> tuple[bool, list[str]]:
        lines: list[str] = []
        for container in pod["spec"].get("containers") or []:
            if director.is_director(container):
                lines += director.emulated_log()
            if not envoy.is_envoy(container):
                continue
            env = {e["name"]: e.get("value", "") for e in container.get("env") or [] if "name" in e}
            version = self.openfl_version
            outcome = envoy.run(container, env, lambda path, c=container: self.read_file(pod, c, path), version)
            lines += outcome.lines
            if not outcome.ok:
                return False, lines
        return True, lines

    def _write_pod(self, pod: dict, runtime: Runtime, waiting: str = "") -> None:
        current = self.store.get(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        if current is None:
            return
        current["status"] = pod_status(current, runtime, waiting)
        if current["status"] != pod.get("status"):
            self.store.put(PODS, current, notify=False)

    def _event(self, pod: dict, kind: str, reason: str, message: str, runtime: Runtime | None = None) -> None:
        """Record (or count again) a core/v1 Event about the pod."""
        meta = pod["metadata"]
        runtime = runtime or self.runtimes.setdefault(meta["uid"], Runtime())
        name = runtime.events.get((reason, message))
        event = self.store.get(EVENTS, meta["namespace"], name) if name else None
        if event is not None:
            if reason in ("FailedMount", "BackOff"):
                event.update(count=event.get("count", 1) + 1, lastTimestamp=now())
                self.store.put(EVENTS, event, notify=False)
            return
        name = f"{meta['name']}.{secrets.token_hex(8)}"
        runtime.events[(reason, message)] = name
        stamp = now()
        involved = {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "namespace": meta["namespace"]}
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "uid": str(uuid.uuid4()),
                "creationTimestamp": stamp,
            },
            "involvedObject": {**involved, "uid": meta["uid"]},
            "reason": reason,
            "message": message,
            "type": kind,
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": "kubelet", "host": NODE},
            "reportingComponent": "kubelet",
            "reportingInstance": NODE,
        }
        self.store.put(EVENTS, event, notify=False)

    # Volumes --------------------------------------------------------------------------------

    def _source(self, namespace: str, volume: dict) -> tuple[str, dict | None, dict] | None:
        """(kind, object or None, volume source) for a Secret/ConfigMap volume; None for other volumes."""
        if "secret" in volume:
            source = volume["secret"] or {}
            return "secret", self.store.get(SECRETS, namespace, source.get("secretName", "")), source
        if "configMap" in volume:
            source = volume["configMap"] or {}
            return "configmap", self.store.get(CONFIGMAPS, namespace, source.get("name", "")), source
        return None

    def _mount_problems(self, pod: dict) -> list[str]:
        namespace, problems = pod["metadata"]["namespace"], []
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        for volume in volumes.values():
            found = self._source(namespace, volume)
            if found is None:
                continue
            kind, obj, source = found
            object_name = source.get("secretName") or source.get("name")
            prefix = f'MountVolume.SetUp failed for volume "{volume["name"]}" : '
            if obj is None:
                if not source.get("optional"):
                    problems.append(f'{prefix}{kind} "{object_name}" not found')
                continue
            keys = object_data(obj)
            for item in source.get("items") or []:
                if item.get("key") not in keys and not source.get("optional"):
                    what = "secret key" if kind == "secret" else "config key"
                    problems.append(f"{prefix}{kind} references non-existent {what}: {item.get('key')}")
        for container in pod["spec"].get("containers") or []:
            for mount in container.get("volumeMounts") or []:
                volume = volumes.get(mount["name"])
                if (
                    volume
                    and mount.get("subPath")
                    and self._file_in_volume(namespace, volume, mount["subPath"]) is None
                ):
                    problems.append(
                        f'failed to prepare subPath for volumeMount "{mount["name"]}" '
                        f'of container "{container["name"]}"'
                    )
        return problems

    def _file_in_volume(self, namespace: str, volume: dict, relative: str) -> bytes | None:
        found = self._source(namespace, volume)
        if found is None or found[1] is None:
            return None
        _, obj, source = found
        items = source.get("items")
        key = next((i["key"] for i in items if i.get("path") == relative), None) if items else relative
        return object_data(obj).get(key) if key is not None else None

    def read_file(self, pod: dict, container: dict, path: str) -> bytes | None:
        """The content of `path` (absolute, or relative to workingDir) inside the container, if mounted."""
        absolute = posixpath.normpath(posixpath.join(container.get("workingDir") or "/", path))
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        mounts = sorted(container.get("volumeMounts") or [], key=lambda m: -len(m.get("mountPath", "")))
        for mount in mounts:
            mount_path = posixpath.normpath(mount.get("mountPath", "/"))
            volume = volumes.get(mount.get("name"))
            if volume is None:
                continue
            if mount.get("subPath"):
                if absolute == mount_path:
                    return self._file_in_volume(pod["metadata"]["namespace"], volume, mount["subPath"])
            elif absolute.startswith(mount_path.rstrip("/") + "/"):
                relative = absolute[len(mount_path.rstrip("/")) + 1 :]
                return self._file_in_volume(pod["metadata"]["namespace"], volume, relative)
        return None
