"""The in-memory object store of the Kubernetes API test double, with a global resourceVersion and watch events."""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .resources import RESOURCES, Resource

HISTORY = 20000


@dataclass(frozen=True)
class WatchEvent:
    revision: int
    type: str
    key: str
    obj: dict


class Store:
    """Objects by resource key and (namespace, name); one re-entrant lock guards everything."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[str, dict[tuple[str, str], dict]] = {r.key: {} for r in RESOURCES}
        self._revision = 0
        self._history: deque[WatchEvent] = deque(maxlen=HISTORY)
        self._listeners: list[Callable[[Resource, str], None]] = []
        self.closed = False

    @property
    def revision(self) -> int:
        return self._revision

    def subscribe(self, listener: Callable[[Resource, str], None]) -> None:
        """`listener(resource, namespace)` runs, under the lock, after each write it did not make itself."""
        self._listeners.append(listener)

    def get(self, resource: Resource, namespace: str, name: str) -> dict | None:
        with self.lock:
            obj = self._objects[resource.key].get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: Resource, namespace: str | None = None) -> list[dict]:
        with self.lock:
            items = self._objects[resource.key]
            return [
                copy.deepcopy(obj) for (ns, _), obj in sorted(items.items()) if namespace is None or ns == namespace
            ]

    def put(self, resource: Resource, obj: dict, notify: bool = True) -> dict:
        """Store `obj` (a new resourceVersion is stamped on it); return a copy of what was stored."""
        with self.lock:
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            event = "MODIFIED" if key in self._objects[resource.key] else "ADDED"
            self._revision += 1
            obj["metadata"]["resourceVersion"] = str(self._revision)
            self._objects[resource.key][key] = copy.deepcopy(obj)
            self._record(event, resource, obj, key[0], notify)
            return copy.deepcopy(obj)

    def remove(self, resource: Resource, namespace: str, name: str, notify: bool = True) -> dict | None:
        with self.lock:
            obj = self._objects[resource.key].pop((namespace, name), None)
            if obj is not None:
                self._revision += 1
                obj["metadata"]["resourceVersion"] = str(self._revision)
                self._record("DELETED", resource, obj, namespace, notify)
            return obj

    def clear(self) -> None:
        with self.lock:
            for items in self._objects.values():
                items.clear()

    def _record(self, event: str, resource: Resource, obj: dict, namespace: str, notify: bool) -> None:
        self._history.append(WatchEvent(self._revision, event, resource.key, copy.deepcopy(obj)))
        self.changed.notify_all()
        if notify:
            for listener in self._listeners:
                listener(resource, namespace)

    def events_after(self, revision: int, key: str) -> list[WatchEvent] | None:
        """Events of one resource newer than `revision`; None if the history no longer reaches back that far."""
        with self.lock:
            if self._history and revision < self._history[0].revision - 1 and revision < self._revision:
                return None
            return [e for e in self._history if e.revision > revision and e.key == key]

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.changed.notify_all()
