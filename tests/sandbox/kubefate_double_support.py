"""Helpers and fixtures for the contract tests of the KubeFATE test double (sandbox/kubefate).

The tests talk plain HTTP (`requests`, redirects not followed unless a test says so). Each test
module gets its own KubeFateServer on the session sandbox's Kubernetes API, so knob changes,
restarts and resets never leak into other tests. Charts are built at test time with tarfile.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.kubefate import KubeFateServer

USERNAME = "admin"
PASSWORD = "s3cret-Pw"
DEFAULT_KNOBS = {"job_latency": 0.0, "token_ttl": 1800.0, "fault_rate": 0.0, "job_time_limit": 20.0}
RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.name }}
  labels:
    name: {{ .Values.name }}
spec:
  replicas: 1
  selector:
    matchLabels:
      name: {{ .Values.name }}
  template:
    metadata:
      labels:
        name: {{ .Values.name }}
    spec:
      containers:
        - name: main
          image: busybox:1.36
      {{- if .Values.secret }}
          volumeMounts:
            - name: cert
              mountPath: /cert
      volumes:
        - name: cert
          secret:
            secretName: {{ .Values.secret }}
      {{- end }}
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.name }}-extra
data:
  greeting: {{ .Values.greeting | quote }}
  colour: {{ .Values.colour | quote }}
  absent: {{ .Values.absent | quote }}
  release: {{ .Release.Name }}/{{ .Release.Namespace }}
"""
VALUES_TEMPLATE = """\
name: {{ .name }}
{{- with .secret }}
secret: {{ . }}
{{- end }}
greeting: {{ .greeting | default "hello" }}
absent: "{{ .absent }}"
"""


def chart_archive(
    name: str = "demo",
    version: str = "0.1.0",
    files: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    top: str | None = None,
) -> bytes:
    """A `helm package`-like tgz: <top>/Chart.yaml, values.yaml, values-template.yaml, templates/."""
    content = {
        "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: '1.5'\n",
        "values.yaml": "name: placeholder\nsecret: ''\ngreeting: hi\ncolour: blue\nabsent: x\n",
        "values-template.yaml": VALUES_TEMPLATE,
        "values-template-example.yaml": "name: example\nnamespace: example\n",
        "templates/deployment.yaml": DEPLOYMENT,
        "templates/configmap.yaml": CONFIGMAP,
    }
    content.update(files or {})
    for path in drop:
        content.pop(path, None)
    prefix = f"{name if top is None else top}/" if top != "" else ""
    return tar_gz({prefix + path: text for path, text in content.items()})


def tar_gz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def encode(spec: dict[str, Any] | str) -> str:
    text = spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True)
    return base64.b64encode(text.encode()).decode()


class KubeFate:
    """Plain-HTTP access to one KubeFATE test double, independent of the project's client."""

    def __init__(self, server: KubeFateServer) -> None:
        self.server = server
        self.url = server.url
        self._token = ""

    def login(self, username: str = USERNAME, password: str = PASSWORD) -> str:
        answer = requests.post(
            f"{self.url}/v1/user/login", json={"username": username, "password": password}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]

    @property
    def token(self) -> str:
        if not self._token:
            self._token = self.login()
        return self._token

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is None:
            headers["Authorization"] = f"Bearer {self.token}"
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("allow_redirects", False)
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=15, **kwargs)

    def ok(self, method: str, path: str, msg: str, **kwargs: Any) -> Any:
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["msg"] == msg, body
        return body.get("data")

    def fails(self, method: str, path: str, status: int, text: str, **kwargs: Any) -> None:
        answer = self.call(method, path, **kwargs)
        assert (answer.status_code, answer.json()) == (status, {"error": text}), answer.text

    def configure(self, **knobs: Any) -> None:
        answer = requests.post(f"{self.url}/_sandbox/config", json=knobs, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"ok": True}, answer.text

    # -- charts and clusters -------------------------------------------------------------------
    def upload(self, archive: bytes, field: str = "file") -> requests.Response:
        return self.call("POST", "/v1/chart", files={field: ("chart.tgz", archive)})

    def upload_ok(self, archive: bytes) -> str:
        answer = self.upload(archive)
        assert answer.status_code == 200 and answer.json()["msg"] == "CreateChart Success", answer.text
        return answer.json()["data"]["helmUUID"]

    def cluster_body(self, name: str, namespace: str, chart: str = "demo", version: str = "0.1.0", **spec: Any) -> dict:
        full = {"name": name, "namespace": namespace, "chartName": chart, "chartVersion": version, **spec}
        return {
            "name": name,
            "namespace": namespace,
            "chart_name": chart,
            "chart_version": version,
            "cover": False,
            "data": encode(full),
            "Keep_upgrade_job": False,
        }

    def install(self, name: str, namespace: str, **kwargs: Any) -> dict:
        return self.ok(
            "POST", "/v1/cluster", "createCluster Success", json=self.cluster_body(name, namespace, **kwargs)
        )

    def job(self, job_id: str) -> dict:
        return self.ok("GET", f"/v1/job/{job_id}", "getJob Success")

    def wait(self, job_id: str, timeout: float = 30.0, until: tuple[str, ...] = ()) -> dict:
        """Poll a job until a terminal status (or one of `until`)."""
        deadline = time.monotonic() + timeout
        terminal = until or ("Success", "Failed", "Canceled", "Rollback")
        while True:
            job = self.job(job_id)
            if job["status"] in terminal:
                return job
            assert time.monotonic() < deadline, f"job still {job['status']}: {job['states']}"
            time.sleep(0.1)

    def clusters(self, all_rows: bool = False) -> list[dict]:
        return self.ok("GET", "/v1/cluster/?all=true" if all_rows else "/v1/cluster/", "getClusterList Success") or []

    def cluster_named(self, name: str, all_rows: bool = False) -> list[dict]:
        return [c for c in self.clusters(all_rows) if c["name"] == name]


def unique(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def kubefate_server(sandbox: Any) -> Iterator[KubeFateServer]:
    """A KubeFATE test double of this module's own, on the session sandbox's Kubernetes API."""
    site = sandbox.sites["sandbox"]
    server = KubeFateServer(site.kube_url, site.kube_token, USERNAME, PASSWORD, **DEFAULT_KNOBS)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def kf(kubefate_server: KubeFateServer) -> Iterator[KubeFate]:
    """The module's KubeFATE with default knobs, restored after the test."""
    kubefate_server.configure(**DEFAULT_KNOBS)
    yield KubeFate(kubefate_server)
    kubefate_server.configure(**DEFAULT_KNOBS)


@pytest.fixture
def demo_chart(kf: KubeFate) -> str:
    """The demo chart 0.1.0 uploaded (re-uploading replaces it, so tests may call this freely)."""
    return kf.upload_ok(chart_archive())
