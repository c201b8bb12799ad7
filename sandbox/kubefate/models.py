"""The KubeFATE test double's "database": gorm-style rows (ID, timestamps, soft delete) kept in memory.

JSON shapes follow what KubeFATE v1.4.5 returns exactly (`namespaces` plural, `Spec`,
capitalised gorm keys, nanosecond `time_limit`, Go time strings).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .gotypes import go_base64_encode, go_time, now

JOB_STATUSES = ("Pending", "Running", "Success", "Failed", "Rollback", "Timeout", "Stopping", "Canceled")
CLUSTER_STATUSES = (
    "Pending",
    "Creating",
    "Deleting",
    "Updating",
    "Running",
    "Unavailable",
    "Deleted",
    "Rollback",
    "Failed",
    "Unknown",
)
TERMINAL_JOB_STATUSES = ("Success", "Failed", "Canceled", "Rollback")


def new_uuid() -> str:
    return str(uuidlib.uuid4())


@dataclass
class Row:
    """gorm.Model: no JSON tags, so the keys are `ID`, `CreatedAt`, `UpdatedAt`, `DeletedAt`."""

    id: int = 0
    created_at: dt.datetime = field(default_factory=now)
    updated_at: dt.datetime = field(default_factory=now)
    deleted_at: dt.datetime | None = None

    def gorm(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "CreatedAt": go_time(self.created_at),
            "UpdatedAt": go_time(self.updated_at),
            "DeletedAt": None if self.deleted_at is None else go_time(self.deleted_at),
        }

    def touch(self) -> None:
        self.updated_at = now()


@dataclass
class ClusterArgs:
    """The POST/PUT /v1/cluster body, as the job's `meta_data` echoes it."""

    name: str = ""
    namespace: str = ""
    chart_name: str = ""
    chart_version: str = ""
    cover: bool = False
    data: bytes | None = None
    keep_upgrade_job: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "chart_name": self.chart_name,
            "chart_version": self.chart_version,
            "cover": self.cover,
            "data": go_base64_encode(self.data),
            "Keep_upgrade_job": self.keep_upgrade_job,
        }


@dataclass
class HelmChart(Row):
    uuid: str = ""
    name: str = ""
    chart: str = ""
    values: str = ""
    values_template: str = ""
    values_template_example: str = ""
    templates: list[tuple[str, bytes]] = field(default_factory=list)
    version: str = ""
    app_version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "chart": self.chart,
            "values": self.values,
            "values_template": self.values_template,
            "values_template_example": self.values_template_example,
            "templates": [{"name": n, "data": go_base64_encode(d)} for n, d in self.templates],
            "version": self.version,
            "app_version": self.app_version,
            **self.gorm(),
        }


@dataclass
class Cluster(Row):
    uuid: str = ""
    name: str = ""
    namespace: str = ""
    chart_name: str = ""
    chart_version: str = ""
    values: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    revision: int = 0
    helm_revision: int = 0
    status: str = "Pending"

    def to_json(self, info: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "uuid": self.uuid,
            "name": self.name,
            "namespaces": self.namespace,
            "chart_name": self.chart_name,
            "chart_version": self.chart_version,
            "values": self.values,
        }
        if self.spec:  # `Spec` is omitempty
            body["Spec"] = self.spec
        body.update(revision=self.revision, helm_revision=self.helm_revision, chart_values=None, status=self.status)
        if info is not None:
            body["Info"] = info
        body.update(self.gorm())
        return body


@dataclass
class SubJob:
    module_name: str
    modules_status: str
    start: dt.datetime
    end: dt.datetime | None = None

    @property
    def status(self) -> str:
        return "Success" if self.modules_status == "Available" else "Running"

    def to_json(self) -> dict[str, Any]:
        return {
            "ModuleName": self.module_name,
            "Status": self.status,
            "ModulesStatus": self.modules_status,
            "StartTime": go_time(self.start),
            "EndTime": go_time(self.end),
        }


@dataclass
class Job(Row):
    uuid: str = ""
    start_time: dt.datetime = field(default_factory=now)
    end_time: dt.datetime | None = None
    method: str = ""
    cluster_id: str = ""
    creator: str = ""
    sub_jobs: dict[str, SubJob] | None = None
    status: str = "Pending"
    time_limit_ns: int = 3_600_000_000_000
    meta_data: ClusterArgs | None = None
    states: list[str] | None = None

    def add_state(self, text: str) -> None:
        self.states = [*(self.states or []), text]
        self.touch()

    def set_status(self, status: str) -> None:
        assert status in JOB_STATUSES, status
        self.status = status
        self.touch()

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "start_time": go_time(self.start_time),
            "end_time": go_time(self.end_time),
            "method": self.method,
            "cluster_id": self.cluster_id,
            "creator": self.creator,
            "sub_jobs": None if self.sub_jobs is None else {k: v.to_json() for k, v in self.sub_jobs.items()},
            "status": self.status,
            "time_limit": self.time_limit_ns,
            "meta_data": None if self.meta_data is None else self.meta_data.to_json(),
            "states": None if self.states is None else list(self.states),
            **self.gorm(),
        }


@dataclass
class User(Row):
    uuid: str = ""
    username: str = ""
    password: str = ""  # kept in clear for comparison; only a salted hash is ever shown
    salt: str = ""
    email: str = ""
    status: str = "Deprecate"

    def to_json(self) -> dict[str, Any]:
        # Only a salted digest is shown, never the password (the real service stores PBKDF2 hashes).
        shown = hashlib.pbkdf2_hmac("sha256", self.password.encode(), self.salt.encode(), 1).hex()
        body = {
            "uuid": self.uuid,
            "username": self.username,
            "password": shown,
            "salt": self.salt,
            "email": self.email,
            "userStatus": self.status,
        }
        return {**{k: v for k, v in body.items() if v}, **self.gorm()}


RowT = TypeVar("RowT", bound=Row)


class Table(Generic[RowT]):
    """Rows in insertion (ID) order; deletions are soft (row kept with `DeletedAt`)."""

    def __init__(self) -> None:
        self.rows: list[RowT] = []

    def insert(self, row: RowT) -> RowT:
        row.id = len(self.rows) + 1
        row.created_at = row.updated_at = now()
        self.rows.append(row)
        return row

    def live(self) -> list[RowT]:
        return [r for r in self.rows if r.deleted_at is None]

    def by_uuid(self, uuid: str) -> RowT | None:
        return next((r for r in self.live() if getattr(r, "uuid", None) == uuid), None)

    @staticmethod
    def soft_delete(row: RowT) -> None:
        row.deleted_at = now()
        row.touch()
