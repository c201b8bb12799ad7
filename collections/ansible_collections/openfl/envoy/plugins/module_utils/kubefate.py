# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one KubeFATE REST client of the collection (its service layer: ``kubefate_service.py``).

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
import json
import os
import socket
import ssl
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Any
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import Request, make_context

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


def service_key(connection: dict[str, Any]) -> tuple[str, Any, Any]:
    """What makes two envoys share a KubeFATE service (one login, one listing): URL, Host header, user."""
    return (str(connection.get("url") or "").rstrip("/"), connection.get("host_header"), connection.get("username"))


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
                f"login to {self.base_url} as {self._username!r} failed: HTTP {status} {_server_text(text)}",
                status,
                text,
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


def job_ended_text(job_uuid: str, job: dict[str, Any]) -> str:
    return f"KubeFATE job {job_uuid} ({job.get('method')}) ended {job.get('status')}; states: {format_states(job)}"


def job_still_text(job_uuid: str, job: dict[str, Any], timeout: float) -> str:
    return (
        f"KubeFATE job {job_uuid} ({job.get('method')}) still {job.get('status')} after {timeout}s;"
        f" states: {format_states(job)}"
    )
