# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one KubeFATE REST client of the collection, and the service layer over it.

Layering (as kubernetes.core does it): ``KubefateClient`` knows transport only (login, the
``Authorization: Bearer`` header, re-login on 401, timeouts, TLS, an optional ``Host`` header,
bounded retries with backoff); ``KubefateService`` knows KubeFATE's objects and its pitfalls
(snake_case ClusterArgs with base64 ``data``, name+namespace lookups, client-side "changed?",
reconciling a mutating call whose outcome is unknown, job polling with an own deadline);
modules only map options to service calls and shape results.

Every path is spelled exactly as the server registers it (list endpoints end in ``/``,
``POST/PUT /v1/cluster`` and ``POST /v1/chart`` do not): urllib does not follow a 307 for
POST/PUT, and redirects are disabled here anyway so a wrong spelling fails loudly.
Nothing in this file ever puts the password or a token into an exception or a result.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import socket
import ssl
import tarfile
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Any
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import Request, make_context

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

# ---------------------------------------------------------------------------------------------
# The connection option family shared by every KubeFATE module (doc fragment: openfl.envoy.kubefate)

KUBEFATE_CONNECTION_SPEC: dict[str, dict[str, Any]] = {
    "url": {"type": "str", "required": True},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "host_header": {"type": "str"},
    "timeout": {"type": "int", "default": 30},
}

TERMINAL_JOB_STATUSES = frozenset({"Success", "Failed", "Canceled", "Rollback", "Timeout"})
FAILED_JOB_STATUSES = TERMINAL_JOB_STATUSES - {"Success"}
SECRET_KEY_MARKERS = ("password", "passwd", "secret", "token", "privatekey", "private_key")
MASK = "********"


def kubefate_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The connection option family plus a module's own options."""
    spec = {key: dict(value) for key, value in KUBEFATE_CONNECTION_SPEC.items()}
    spec.update(extra)
    return spec


# ---------------------------------------------------------------------------------------------
# Errors


class KubefateError(Exception):
    """A KubeFATE call failed; ``status`` is the HTTP status (None for transport errors)."""

    def __init__(self, msg: str, status: int | None = None, body: str | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.body = body

    @property
    def server_error(self) -> str:
        """The server's own ``error``/``message`` text, or the raw body."""
        return _server_text(self.body)


class KubefateAuthError(KubefateError):
    """Login failed (wrong credentials) or a fresh token was refused."""


class KubefateTransportError(KubefateError):
    """The request may not have reached the server, or its answer got lost (connection errors,
    time-outs, empty-body 500s, gateway errors). For a mutating call the outcome is unknown."""


class KubefateJobError(KubefateError):
    """A job ended in a failed state, or did not end before the caller's deadline."""

    def __init__(self, msg: str, job: dict[str, Any]) -> None:
        super().__init__(msg)
        self.job = job


def _server_text(body: str | None) -> str:
    if not body:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.strip()[:500]
    if isinstance(parsed, dict):
        for key in ("error", "message", "msg"):
            if parsed.get(key):
                return str(parsed[key])
    return body.strip()[:500]


# ---------------------------------------------------------------------------------------------
# Client: transport, auth, retries

_TRANSPORT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    URLError,
    socket.timeout,
    TimeoutError,
    ConnectionError,
    http.client.HTTPException,
    OSError,
)
_GATEWAY_STATUSES = frozenset({502, 503, 504})


class KubefateClient:
    """Talks HTTP to one KubeFATE service. Not thread-safe; one per module run."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        validate_certs: bool = True,
        ca_path: str | None = None,
        host_header: str | None = None,
        timeout: float = 30,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url or "://" not in url:
            raise KubefateError(
                f"url {url!r} must be an absolute http(s) URL, for example https://kubefate.example.com"
            )
        self.base_url = url.rstrip("/")
        self._username = username
        self._password = password
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.host_header = host_header
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._token: str | None = None
        self._context: ssl.SSLContext | None = None
        self.calls: list[tuple[str, str, int | None]] = []  # (method, path, status) for tests/debug

    @classmethod
    def from_params(cls, params: dict[str, Any], **kwargs: Any) -> KubefateClient:
        return cls(
            url=params["url"],
            username=params["username"],
            password=params["password"],
            validate_certs=params.get("validate_certs", True),
            ca_path=params.get("ca_path"),
            host_header=params.get("host_header"),
            timeout=params.get("timeout") or 30,
            **kwargs,
        )

    # -- raw HTTP -------------------------------------------------------------------------

    def _open(self, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
        """One HTTP exchange. Returns (status, body); raises KubefateTransportError when no
        complete HTTP answer arrived, KubefateError on TLS verification problems."""
        all_headers = {"Accept": "application/json", "User-Agent": "openfl.envoy-kubefate"}
        if self.host_header:
            all_headers["Host"] = self.host_header
        all_headers.update(headers)
        request = Request(
            timeout=self.timeout,
            validate_certs=self.validate_certs,
            ca_path=self.ca_path,
            follow_redirects="none",
            http_agent="openfl.envoy-kubefate",
            context=self._ssl_context(),
        )
        url = self.base_url + path
        try:
            response = request.open(method, url, data=data, headers=all_headers)
            status = response.getcode()
            body = response.read()
        except HTTPError as err:
            status = err.code
            try:
                body = err.read() or b""
            except _TRANSPORT_EXCEPTIONS:
                body = b""
        except ssl.SSLCertVerificationError as err:
            raise KubefateError(f"TLS verification of {self.base_url} failed: {err}") from None
        except _TRANSPORT_EXCEPTIONS as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(reason):
                raise KubefateError(
                    f"TLS verification of {self.base_url} failed: {reason} (set ca_path, or validate_certs=false)"
                ) from None
            raise KubefateTransportError(f"{method} {path}: connection error: {reason}") from None
        except Exception as err:  # ansible's own SSL validation errors and the like
            if "certificate" in str(err).lower() or "ssl" in type(err).__name__.lower():
                raise KubefateError(f"TLS verification of {self.base_url} failed: {err}") from None
            raise KubefateTransportError(f"{method} {path}: {type(err).__name__}: {err}") from None
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body or "")
        self.calls.append((method, path, status))
        return status, text

    def _ssl_context(self) -> ssl.SSLContext:
        """One TLS context per client: open_url builds one per request otherwise, even for
        plain http, and loading the trust store costs ~30 ms each time."""
        if self._context is None:
            self._context = make_context(cafile=self.ca_path, validate_certs=self.validate_certs)
        return self._context

    def _exchange(self, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
        """One exchange, with transport errors, empty-body 500s and gateway errors turned into
        KubefateTransportError (the caller decides whether a retry is safe)."""
        status, text = self._open(method, path, data, headers)
        if status == 500 and not text.strip():
            raise KubefateTransportError(f"{method} {path}: HTTP 500 with an empty body (server panic)", 500, text)
        if status in _GATEWAY_STATUSES:
            raise KubefateTransportError(f"{method} {path}: HTTP {status} from a gateway", status, text)
        return status, text

    def _backoff(self, attempt: int) -> None:
        self._sleep(min(self.max_backoff, self.backoff * (2**attempt)))

    # -- auth -----------------------------------------------------------------------------

    def login(self) -> None:
        body = json.dumps({"username": self._username, "password": self._password}).encode()
        last: KubefateError | None = None
        for attempt in range(self.retries + 1):
            try:
                status, text = self._exchange("POST", "/v1/user/login", body, {"Content-Type": "application/json"})
            except KubefateTransportError as err:  # login has no side effect: always safe to retry
                last = err
                if attempt < self.retries:
                    self._backoff(attempt)
                continue
            if status == 200:
                try:
                    token = json.loads(text)["token"]
                except (ValueError, KeyError, TypeError):
                    raise KubefateError("login answered 200 without a token", status) from None
                self._token = str(token)
                return
            raise KubefateAuthError(
                f"login to {self.base_url} as {self._username!r} failed: HTTP {status} {_server_text(text)}", status
            )
        raise KubefateTransportError(f"login to {self.base_url} failed after {self.retries + 1} attempts: {last}")

    # -- requests -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str | None = None,
        retry_unknown: bool = True,
    ) -> Any:
        """An authenticated call; returns the parsed JSON answer of an HTTP 200.

        ``retry_unknown`` says whether a call whose outcome is unknown (transport error, empty
        500, gateway error) may simply be sent again; when False the KubefateTransportError is
        raised at once so the service can first look at what the server did.
        Raises KubefateError (with ``status`` and ``body``) for any other non-200 answer.
        """
        if body is not None:
            data = json.dumps(body).encode()
            content_type = "application/json"
        else:
            data = raw
        headers = {"Content-Type": content_type} if content_type else {}
        relogged = False
        attempt = 0
        while True:
            if self._token is None:
                self.login()
            headers["Authorization"] = f"Bearer {self._token}"
            try:
                status, text = self._exchange(method, path, data, headers)
            except KubefateTransportError:
                if not retry_unknown or attempt >= self.retries:
                    raise
                self._backoff(attempt)
                attempt += 1
                continue
            if status == 401:
                self._token = None
                if relogged:
                    raise KubefateAuthError(
                        f"{method} {path}: HTTP 401 right after a fresh login: {_server_text(text)}", 401, text
                    )
                relogged = True
                continue
            if status != 200:
                raise KubefateError(f"{method} {path}: HTTP {status}: {_server_text(text)}", status, text)
            try:
                return json.loads(text) if text.strip() else {}
            except ValueError:
                raise KubefateError(
                    f"{method} {path}: HTTP 200 with a non-JSON body: {text[:200]}", status, text
                ) from None


# ---------------------------------------------------------------------------------------------
# Pure helpers (normalising, comparing, packaging, sanitising)


def normalize(value: Any) -> Any:
    """Canonical form for comparing a desired spec with the server's ``Spec``: JSON numbers come
    back as floats, so integral floats become ints; mappings are compared by key; tuples are lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def sanitize(value: Any) -> Any:
    """A copy with every value under a secret-looking key masked (for diffs and results)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            lowered = str(key).lower().replace("-", "_")
            if any(marker in lowered for marker in SECRET_KEY_MARKERS) and not isinstance(item, (dict, list)):
                out[key] = MASK
            else:
                out[key] = sanitize(item)
        return out
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    return value


def encode_data(spec: dict[str, Any]) -> tuple[str, str]:
    """The cluster spec as the JSON text (sorted keys, as the kubefate CLI sends it) and its base64."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return text, base64.b64encode(text.encode("utf-8")).decode("ascii")


def cluster_args(
    name: str, namespace: str, chart_name: str, chart_version: str, spec: dict[str, Any], cover: bool = False
) -> dict[str, Any]:
    """ClusterArgs for POST/PUT /v1/cluster: snake_case keys, base64 ``data``, booleans as booleans."""
    _text, data = encode_data(spec)
    return {
        "name": name,
        "namespace": namespace,
        "chart_name": chart_name,
        "chart_version": chart_version,
        "cover": bool(cover),
        "data": data,
        "Keep_upgrade_job": False,
    }


def build_multipart(
    field: str, filename: str, payload: bytes, content_type: str = "application/gzip"
) -> tuple[bytes, str]:
    """A multipart/form-data body with one file part; returns (body, Content-Type header)."""
    boundary = "----openfl-envoy-" + uuidlib.uuid4().hex
    safe_name = os.path.basename(filename).replace('"', "_")
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + payload + tail, f"multipart/form-data; boundary={boundary}"


ROOT_CHART_FILES = {
    "Chart.yaml": "chart",
    "values.yaml": "values",
    "values-template.yaml": "values_template",
    "values-template-example.yaml": "values_template_example",
}


def chart_package_files(package: bytes) -> dict[str, bytes]:
    """The files KubeFATE stores from a chart package: the four root files (by their HelmChart key)
    and ``templates/...`` (by path relative to the chart root). Other files are dropped, as the
    server drops them."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            parts = member.name.split("/", 1)
            if len(parts) != 2:
                continue
            rel = parts[1]
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            content = extracted.read()
            if rel in ROOT_CHART_FILES:
                files[ROOT_CHART_FILES[rel]] = content
            elif rel.startswith("templates/"):
                files[rel] = content
    return files


def chart_metadata(package: bytes) -> dict[str, Any]:
    """Chart.yaml of a package, parsed."""
    raw = chart_package_files(package).get("chart")
    if raw is None:
        raise KubefateError("the chart package has no Chart.yaml in its top-level directory")
    meta = yaml.safe_load(raw.decode("utf-8")) if HAS_YAML else None
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise KubefateError("the chart package's Chart.yaml needs a name and a version")
    return meta


def _same_text(stored: str | None, local: bytes | None, parse_yaml: bool) -> bool:
    stored_text = stored or ""
    local_text = (local or b"").decode("utf-8", errors="replace")
    if stored_text == local_text or stored_text.strip() == local_text.strip():
        return True
    if parse_yaml and HAS_YAML:
        try:
            return normalize(yaml.safe_load(stored_text)) == normalize(yaml.safe_load(local_text))
        except yaml.YAMLError:
            return False
    return False


def _template_name(name: str) -> str:
    return name if name.startswith("templates/") else "templates/" + name.lstrip("/")


def chart_differences(stored: dict[str, Any], package: bytes) -> list[str]:
    """Which stored files differ from the package's (empty list: same content). KubeFATE keeps
    no digest, so this compares the texts it stores: Chart.yaml, values.yaml, the values
    templates (YAML files also compare equal when they parse to the same data) and every
    template file (byte for byte)."""
    local = chart_package_files(package)
    diffs = []
    for filename, key in ROOT_CHART_FILES.items():
        if not _same_text(stored.get(key), local.get(key), parse_yaml=key != "values_template"):
            diffs.append(filename)
    stored_templates: dict[str, bytes] = {}
    for item in stored.get("templates") or []:
        if not isinstance(item, dict) or "name" not in item:
            continue
        data = item.get("data") or ""
        try:
            content = base64.b64decode(data) if isinstance(data, str) else bytes(data)
        except (ValueError, TypeError):
            content = str(data).encode()
        stored_templates[_template_name(str(item["name"]))] = content
    local_templates = {name: content for name, content in local.items() if name.startswith("templates/")}
    for name in sorted(set(stored_templates) | set(local_templates)):
        if stored_templates.get(name) != local_templates.get(name):
            diffs.append(name)
    return diffs


def job_summary(job: dict[str, Any] | None) -> dict[str, Any] | None:
    """A job without ``meta_data`` (its base64 ``data`` carries the whole cluster config)."""
    if not job:
        return None
    keep = ("uuid", "method", "status", "states", "cluster_id", "creator", "start_time", "end_time", "sub_jobs")
    return {key: job.get(key) for key in keep}


def cluster_summary(cluster: dict[str, Any] | None) -> dict[str, Any] | None:
    """A cluster as modules return it: ``namespace`` (the server says ``namespaces``), the parsed
    spec with secret-looking values masked, no raw ``values`` text."""
    if not cluster:
        return None
    return {
        "uuid": cluster.get("uuid"),
        "name": cluster.get("name"),
        "namespace": cluster.get("namespaces", cluster.get("namespace")),
        "chart_name": cluster.get("chart_name"),
        "chart_version": cluster.get("chart_version"),
        "status": cluster.get("status"),
        "revision": cluster.get("revision"),
        "helm_revision": cluster.get("helm_revision"),
        "spec": sanitize(normalize(cluster.get("Spec") or {})),
        "info": cluster.get("Info"),
    }


def format_states(job: dict[str, Any]) -> str:
    states = job.get("states") or []
    return "; ".join(str(s) for s in states) if states else "(no states)"


# ---------------------------------------------------------------------------------------------
# Service: KubeFATE objects and decisions


class KubefateService:
    """Charts, clusters and jobs over one client."""

    def __init__(
        self,
        client: KubefateClient,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._sleep = sleep
        self._clock = clock

    # -- reads ----------------------------------------------------------------------------

    @staticmethod
    def _data(answer: Any) -> Any:
        return answer.get("data") if isinstance(answer, dict) else None

    def list_clusters(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        path = "/v1/cluster/?all=true" if include_deleted else "/v1/cluster/"
        return list(self._data(self.client.request("GET", path)) or [])

    def find_cluster(self, name: str, namespace: str) -> dict[str, Any] | None:
        """The non-deleted cluster with this name in this namespace (the server's own uniqueness
        rule). There is no lookup endpoint; the list answers ``namespaces`` (plural)."""
        for cluster in self.list_clusters():
            if cluster.get("name") == name and cluster.get("namespaces") == namespace and not cluster.get("DeletedAt"):
                return cluster
        return None

    def get_cluster(self, cluster_uuid: str) -> dict[str, Any]:
        return self._data(self.client.request("GET", f"/v1/cluster/{cluster_uuid}")) or {}

    def list_jobs(self) -> list[dict[str, Any]]:
        return list(self._data(self.client.request("GET", "/v1/job/")) or [])

    def get_job(self, job_uuid: str) -> dict[str, Any]:
        return self._data(self.client.request("GET", f"/v1/job/{job_uuid}")) or {}

    def list_charts(self) -> list[dict[str, Any]]:
        return list(self._data(self.client.request("GET", "/v1/chart/")) or [])

    def find_chart(self, name: str, version: str) -> dict[str, Any] | None:
        found = [
            c
            for c in self.list_charts()
            if c.get("name") == name and c.get("version") == version and not c.get("DeletedAt")
        ]
        # A re-upload soft-deletes the old row; should several be visible, the newest wins.
        found.sort(key=lambda c: c.get("ID") or 0)
        return found[-1] if found else None

    @staticmethod
    def _job_matches(job: dict[str, Any], method: str, name: str, namespace: str) -> bool:
        meta = job.get("meta_data") or {}
        return job.get("method") == method and meta.get("name") == name and meta.get("namespace") == namespace

    def latest_job(
        self, cluster: dict[str, Any] | None, name: str, namespace: str, jobs: list | None = None
    ) -> dict | None:
        """The most recent job of a cluster: by ``cluster_id``, or (for an install whose worker has
        not started yet) by the name and namespace in its ``meta_data``."""
        jobs = self.list_jobs() if jobs is None else jobs
        cluster_uuid = (cluster or {}).get("uuid")
        mine = [
            j
            for j in jobs
            if (cluster_uuid and j.get("cluster_id") == cluster_uuid)
            or (not j.get("cluster_id") and self._job_matches(j, "ClusterInstall", name, namespace))
        ]
        mine.sort(key=lambda j: (j.get("ID") or 0, j.get("start_time") or ""))
        return mine[-1] if mine else None

    # -- decisions ------------------------------------------------------------------------

    @staticmethod
    def spec_differs(cluster: dict[str, Any], spec: dict[str, Any], chart_name: str, chart_version: str) -> bool:
        return (
            normalize(cluster.get("Spec") or {}) != normalize(spec)
            or cluster.get("chart_name") != chart_name
            or cluster.get("chart_version") != chart_version
        )

    # -- charts ---------------------------------------------------------------------------

    def upload_chart(self, filename: str, package: bytes, name: str, version: str) -> str:
        """POST /v1/chart (multipart ``file``). A re-upload only replaces the row, so an unknown
        outcome is settled by looking the chart up and comparing its content."""
        body, content_type = build_multipart("file", filename, package)
        attempt = 0
        while True:
            try:
                answer = self.client.request(
                    "POST", "/v1/chart", raw=body, content_type=content_type, retry_unknown=False
                )
                return str((self._data(answer) or {}).get("helmUUID") or "")
            except KubefateTransportError:
                if attempt >= self.client.retries:
                    raise
                self.client._backoff(attempt)
                attempt += 1
                stored = self.find_chart(name, version)
                if stored is not None and not chart_differences(stored, package):
                    return str(stored.get("uuid") or "")

    # -- clusters -------------------------------------------------------------------------

    def _new_job(
        self, baseline: set[str], method: str, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """The newest job created since ``baseline`` (a set of job uuids) with this method that
        ``match`` accepts, or None."""
        for job in sorted(self.list_jobs(), key=lambda j: j.get("ID") or 0, reverse=True):
            if job.get("uuid") not in baseline and job.get("method") == method and match(job):
                return job
        return None

    def _send_settled(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        settle: Callable[[], dict[str, Any] | None],
        done_error: str | None = None,
    ) -> dict[str, Any]:
        """Send a cluster mutation; returns its Job. After an unknown outcome (lost answer,
        dropped connection) it asks ``settle()`` whether the earlier attempt took effect (its
        job) before sending again, so a lost answer never leads to a second job. ``done_error``
        is the server text that, answering a re-send, means the first attempt worked."""
        attempt = 0
        while True:
            try:
                answer = self.client.request(method, path, body, retry_unknown=False)
                return self._data(answer) or {}
            except KubefateTransportError:
                if attempt >= self.client.retries:
                    raise
            except KubefateError as err:
                if attempt == 0 or done_error is None or done_error not in err.server_error:
                    raise
                job = settle()
                if job is not None:
                    return job
                raise
            self.client._backoff(attempt)
            attempt += 1
            job = settle()
            if job is not None:
                return job

    def _settle_install(self, name: str, namespace: str, baseline: set[str]) -> dict[str, Any] | None:
        """After an install POST with an unknown outcome: the job it created, if any. Looks at the
        jobs (new ClusterInstall job for this name+namespace) and at the clusters (name+namespace
        now present), so that a lost answer never leads to a second install."""
        job = self._new_job(
            baseline, "ClusterInstall", lambda j: self._job_matches(j, "ClusterInstall", name, namespace)
        )
        if job is not None:
            return job
        cluster = self.find_cluster(name, namespace)
        if cluster is not None:
            return self.latest_job(cluster, name, namespace) or {
                "uuid": None,
                "status": "Unknown",
                "cluster_id": cluster.get("uuid"),
            }
        return None

    def install_cluster(self, args: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/cluster; returns the Job. Never re-POSTs before checking that the previous
        attempt left no job and no cluster behind."""
        name, namespace = args["name"], args["namespace"]
        baseline = {j.get("uuid") for j in self.list_jobs()}
        return self._send_settled(
            "POST", "/v1/cluster", args, lambda: self._settle_install(name, namespace, baseline), "already existed"
        )

    def update_cluster(self, args: dict[str, Any], cluster: dict[str, Any]) -> dict[str, Any]:
        """PUT /v1/cluster; returns the Job. An unknown outcome is settled by a new ClusterUpdate
        job for this cluster, or the cluster already carrying the new spec."""
        baseline = {j.get("uuid") for j in self.list_jobs()}

        def settle() -> dict[str, Any] | None:
            job = self._new_job(baseline, "ClusterUpdate", lambda j: j.get("cluster_id") == cluster.get("uuid"))
            if job is not None:
                return job
            now = self.find_cluster(args["name"], args["namespace"])
            desired = json.loads(base64.b64decode(args["data"]))
            if now is not None and not self.spec_differs(now, desired, args["chart_name"], args["chart_version"]):
                return self.latest_job(now, args["name"], args["namespace"]) or {}
            return None

        # An update has no "already done" answer: a re-sent PUT simply runs again.
        return self._send_settled("PUT", "/v1/cluster", args, settle)

    def delete_cluster(self, cluster: dict[str, Any]) -> dict[str, Any]:
        """DELETE /v1/cluster/{uuid}; returns the Job. ``record not found`` after a lost answer
        means the first attempt worked."""
        cluster_uuid = cluster["uuid"]
        baseline = {j.get("uuid") for j in self.list_jobs()}
        return self._send_settled(
            "DELETE",
            f"/v1/cluster/{cluster_uuid}",
            None,
            lambda: self._new_job(baseline, "ClusterDelete", lambda j: j.get("cluster_id") == cluster_uuid),
            "record not found",
        )

    # -- jobs -----------------------------------------------------------------------------

    def wait_job(self, job_uuid: str, timeout: float = 600, interval: float = 5.0, first_interval: float = 0.5) -> dict:
        """Poll GET /v1/job/{uuid} until a terminal status or the deadline. The interval starts
        at ``first_interval`` and grows by half each round up to ``interval``, so short jobs are
        seen finishing early without hammering the server on long ones.

        Returns the job on ``Success``; raises KubefateJobError with the job's ``states`` when it
        ends ``Failed``/``Canceled``/``Rollback`` or is still running at the deadline (a job can
        stay ``Running`` forever on the real server)."""
        deadline = self._clock() + max(0.0, float(timeout))
        interval = max(0.2, min(float(interval), 60.0))
        pause = max(0.1, min(float(first_interval), interval))
        while True:
            job = self.get_job(job_uuid)
            status = job.get("status")
            if status == "Success":
                return job
            if status in FAILED_JOB_STATUSES:
                raise KubefateJobError(
                    f"KubeFATE job {job_uuid} ({job.get('method')}) ended {status}; states: {format_states(job)}", job
                )
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise KubefateJobError(
                    f"KubeFATE job {job_uuid} ({job.get('method')}) still {status} after {timeout}s;"
                    f" states: {format_states(job)}",
                    job,
                )
            self._sleep(min(pause, remaining))
            pause = min(interval, pause * 1.5)
