"""Saving and loading the KubeFATE test double's "database" and Helm release records as JSON.

The real service keeps charts, clusters, jobs and users in MySQL and its Helm releases in
Kubernetes Secrets, so all of it survives a restart. Rows keep their IDs, uuids, timestamps and
soft deletions; chart files and job data (bytes) are stored in base64.

What a restart does to the rest, as the real service:
- the JWT signing key is new (every earlier token is invalid);
- the admin user is deleted and re-created from the configuration (a new uuid, same password);
- a job that had not finished (`Pending`, `Running`, `Stopping`) stays as it was: its goroutine
  died with the process and nothing resumes it, so it never progresses (nor does its cluster's
  `Creating`/`Updating`/`Deleting` status).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from .helm import Release
from .models import Cluster, ClusterArgs, HelmChart, Job, Row, SubJob, Table, User
from .service import State

FORMAT = 1


def _time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _required_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _row(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
        "deleted_at": _time(row.deleted_at),
    }


def _row_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": data["id"],
        "created_at": _required_time(data["created_at"]),
        "updated_at": _required_time(data["updated_at"]),
        "deleted_at": _parse_time(data["deleted_at"]),
    }


def _chart(row: HelmChart) -> dict[str, Any]:
    return {
        **_row(row),
        "uuid": row.uuid,
        "name": row.name,
        "chart": row.chart,
        "values": row.values,
        "values_template": row.values_template,
        "values_template_example": row.values_template_example,
        "templates": [[name, _b64(data)] for name, data in row.templates],
        "version": row.version,
        "app_version": row.app_version,
    }


def _load_chart(data: dict[str, Any]) -> HelmChart:
    plain = ("uuid", "name", "chart", "values", "values_template", "values_template_example", "version", "app_version")
    return HelmChart(
        **_row_fields(data),
        **{key: data[key] for key in plain},
        templates=[(name, _unb64(text) or b"") for name, text in data["templates"]],
    )


CLUSTER_FIELDS = (
    "uuid",
    "name",
    "namespace",
    "chart_name",
    "chart_version",
    "values",
    "spec",
    "revision",
    "helm_revision",
    "status",
)


def _cluster(row: Cluster) -> dict[str, Any]:
    return {**_row(row), **{key: getattr(row, key) for key in CLUSTER_FIELDS}}


def _load_cluster(data: dict[str, Any]) -> Cluster:
    return Cluster(**_row_fields(data), **{key: data[key] for key in CLUSTER_FIELDS})


def _args(args: ClusterArgs | None) -> dict[str, Any] | None:
    if args is None:
        return None
    return {
        "name": args.name,
        "namespace": args.namespace,
        "chart_name": args.chart_name,
        "chart_version": args.chart_version,
        "cover": args.cover,
        "data": _b64(args.data),
        "keep_upgrade_job": args.keep_upgrade_job,
    }


def _load_args(data: dict[str, Any] | None) -> ClusterArgs | None:
    if data is None:
        return None
    return ClusterArgs(**{**data, "data": _unb64(data["data"])})


def _job(row: Job) -> dict[str, Any]:
    sub_jobs = None
    if row.sub_jobs is not None:
        sub_jobs = {
            key: {"module_name": s.module_name, "modules_status": s.modules_status,
                  "start": _time(s.start), "end": _time(s.end)}
            for key, s in row.sub_jobs.items()
        }  # fmt: skip
    return {
        **_row(row),
        "uuid": row.uuid,
        "start_time": _time(row.start_time),
        "end_time": _time(row.end_time),
        "method": row.method,
        "cluster_id": row.cluster_id,
        "creator": row.creator,
        "sub_jobs": sub_jobs,
        "status": row.status,
        "time_limit_ns": row.time_limit_ns,
        "meta_data": _args(row.meta_data),
        "states": None if row.states is None else list(row.states),
    }


def _load_job(data: dict[str, Any]) -> Job:
    sub_jobs = None
    if data["sub_jobs"] is not None:
        sub_jobs = {
            key: SubJob(s["module_name"], s["modules_status"], _required_time(s["start"]), _parse_time(s["end"]))
            for key, s in data["sub_jobs"].items()
        }  # fmt: skip
    return Job(
        **_row_fields(data),
        uuid=data["uuid"],
        start_time=_required_time(data["start_time"]),
        end_time=_parse_time(data["end_time"]),
        method=data["method"],
        cluster_id=data["cluster_id"],
        creator=data["creator"],
        sub_jobs=sub_jobs,
        status=data["status"],
        time_limit_ns=data["time_limit_ns"],
        meta_data=_load_args(data["meta_data"]),
        states=None if data["states"] is None else list(data["states"]),
    )


USER_FIELDS = ("uuid", "username", "password", "salt", "email", "status")


def _user(row: User) -> dict[str, Any]:
    return {**_row(row), **{key: getattr(row, key) for key in USER_FIELDS}}


def _load_user(data: dict[str, Any]) -> User:
    return User(**_row_fields(data), **{key: data[key] for key in USER_FIELDS})


def _table(rows: list[Any], load: Any) -> Table[Any]:
    table: Table[Any] = Table()
    table.rows = [load(row) for row in rows]
    return table


def save(state: State) -> dict[str, Any]:
    """The service's database and Helm release records, JSON-shaped."""
    with state.lock:
        releases = [
            {"name": r.name, "namespace": r.namespace, "revisions": r.revisions} for r in state.helm.releases.values()
        ]
        return {
            "format": FORMAT,
            "charts": [_chart(r) for r in state.charts.rows],
            "clusters": [_cluster(r) for r in state.clusters.rows],
            "jobs": [_job(r) for r in state.jobs.rows],
            "users": [_user(r) for r in state.users.rows],
            "releases": releases,
        }


def load(state: State, data: dict[str, Any]) -> None:
    """Replace the service's rows and releases with a `save()`, then re-create the admin as a start does."""
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown KubeFATE state format {data.get('format')!r}")
    with state.lock:
        state.charts = _table(data["charts"], _load_chart)
        state.clusters = _table(data["clusters"], _load_cluster)
        state.jobs = _table(data["jobs"], _load_job)
        state.users = _table(data["users"], _load_user)
        state.helm.releases = {
            (r["namespace"], r["name"]): Release(r["name"], r["namespace"], r["revisions"]) for r in data["releases"]
        }
        state.add_admin()
