# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/kubefate.py against a small in-process fake KubeFATE (real HTTP on 127.0.0.1):
transport, auth, retries, unknown outcomes, exact paths, and the pure helpers."""

from __future__ import annotations

import base64
import io
import json
import sys
import tarfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

# Runs under ansible-test (which sets the path) and under plain pytest from the repository root.
_COLLECTIONS = str(Path(__file__).resolve().parents[7])
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.openfl.envoy.plugins.module_utils import chart as chart_pkg  # noqa: E402
from ansible_collections.openfl.envoy.plugins.module_utils import kubefate as kf  # noqa: E402
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService  # noqa: E402

USER, PASSWORD = "admin", "s3cret-pw"
NAME, NS = "envoy-1", "openfl-envoy-1"


class FakeKubefate:
    """Just enough of KubeFATE's REST API (``/v1/...``) to test the client: exact routes
    (the other slash spelling answers 301/307), JWT-less tokens, clusters, jobs, charts, and
    fault knobs applied per (method, path) call."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.clusters: list[dict] = []
        self.jobs: list[dict] = []
        self.charts: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []
        # faults: list of (method, path_prefix, kind) consumed in order; kind in
        # "empty500" (answer 500, empty body, do nothing), "drop_before" (close, do nothing),
        # "drop_after" (do the work, then close without answering), "expire" (invalidate tokens first)
        self.faults: list[tuple[str, str, str]] = []
        self.job_final_status = "Success"
        self.job_states = ["update job status to Running", "create Cluster in DB Success"]
        self._id = 0
        self.lock = threading.Lock()

    def next_id(self) -> int:
        self._id += 1
        return self._id

    # -- behaviour -------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, object | None]:
        routes_exact = {
            ("POST", "/v1/user/login"),
            ("POST", "/v1/cluster"),
            ("PUT", "/v1/cluster"),
            ("POST", "/v1/chart"),
            ("GET", "/v1/cluster/"),
            ("GET", "/v1/job/"),
            ("GET", "/v1/chart/"),
        }
        bare = path.split("?", 1)[0]
        if (method, bare.rstrip("/")) in {(m, p.rstrip("/")) for m, p in routes_exact} and (
            method,
            bare,
        ) not in routes_exact:
            return (301 if method == "GET" else 307), None
        if bare == "/v1/user/login" and method == "POST":
            creds = json.loads(body or b"{}")
            if creds.get("username") == USER and creds.get("password") == PASSWORD:
                token = uuid.uuid4().hex
                self.tokens.add(token)
                return 200, {"code": 200, "expire": "2030-01-01T00:00:00Z", "token": token}
            return 401, {"code": 401, "message": "incorrect Username or Password"}
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return 401, {"code": 401, "message": "cookie token is empty"}
        if bare == "/v1/cluster/" and method == "GET":
            show_all = "all=true" in path
            return 200, {
                "msg": "getClusterList Success",
                "data": [c for c in self.clusters if show_all or not c["DeletedAt"]],
            }
        if bare == "/v1/job/" and method == "GET":
            return 200, {"msg": "getJobList Success", "data": self.jobs}
        if bare.startswith("/v1/job/") and method == "GET":
            for job in self.jobs:
                if job["uuid"] == bare.rsplit("/", 1)[1]:
                    return 200, {"msg": "getJob Success", "data": job}
            return 500, {"error": "record not found"}
        if bare == "/v1/chart/" and method == "GET":
            return 200, {"msg": "getChartList Success", "data": [c for c in self.charts if not c["DeletedAt"]]}
        if bare == "/v1/chart" and method == "POST":
            return self.upload(headers, body)
        if bare == "/v1/cluster" and method in ("POST", "PUT"):
            args = json.loads(body)
            return self.install(args) if method == "POST" else self.update(args)
        if bare.startswith("/v1/cluster/") and method == "DELETE":
            cid = bare.rsplit("/", 1)[1]
            for cluster in self.clusters:
                if cluster["uuid"] == cid and not cluster["DeletedAt"]:
                    cluster["DeletedAt"] = "2026-01-01T00:00:00Z"
                    cluster["status"] = "Deleted"
                    return 200, {"msg": "deleteCluster Success", "data": self.new_job("ClusterDelete", None, cid)}
            return 500, {"error": "record not found"}
        return 404, None

    def new_job(self, method: str, meta: dict | None, cluster_id: str) -> dict:
        job = {
            "uuid": str(uuid.uuid4()),
            "ID": self.next_id(),
            "method": method,
            "status": self.job_final_status,
            "states": list(self.job_states),
            "cluster_id": cluster_id,
            "meta_data": meta,
            "start_time": "2026-01-01T00:00:00Z",
            "end_time": "0001-01-01T00:00:00Z",
        }
        self.jobs.append(job)
        return job

    def live(self, name: str, namespace: str) -> dict | None:
        for cluster in self.clusters:
            if cluster["name"] == name and cluster["namespaces"] == namespace and not cluster["DeletedAt"]:
                return cluster
        return None

    def install(self, args: dict) -> tuple[int, object]:
        if not args.get("chart_name") or not args.get("chart_version"):
            return 500, {"error": "chartVersion cannot be empty"}
        if self.live(args["name"], args["namespace"]):
            return 500, {"error": f"name={args['name']} & namespace={args['namespace']} Cluster already existed"}
        spec = json.loads(base64.b64decode(args["data"]))
        cluster = {
            "uuid": str(uuid.uuid4()),
            "ID": self.next_id(),
            "name": args["name"],
            "namespaces": args["namespace"],
            "chart_name": args["chart_name"],
            "chart_version": args["chart_version"],
            "Spec": json.loads(json.dumps(spec), parse_int=float),
            "status": "Running",
            "revision": 1,
            "DeletedAt": None,
        }
        self.clusters.append(cluster)
        return 200, {"msg": "createCluster Success", "data": self.new_job("ClusterInstall", args, cluster["uuid"])}

    def update(self, args: dict) -> tuple[int, object]:
        cluster = self.live(args["name"], args["namespace"])
        if cluster is None:
            return 500, {"error": f"name={args['name']} Cluster is not existed"}
        cluster["Spec"] = json.loads(base64.b64decode(args["data"]), parse_int=float)
        cluster["chart_version"] = args["chart_version"]
        return 200, {"msg": "setCluster Success", "data": self.new_job("ClusterUpdate", args, cluster["uuid"])}

    def upload(self, headers: dict, body: bytes) -> tuple[int, object]:
        ctype = headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data; boundary="):
            return 500, {"error": "request Content-Type isn't multipart/form-data"}
        boundary = ctype.split("boundary=", 1)[1].encode()
        part = body.split(b"--" + boundary)[1]
        head, payload = part.split(b"\r\n\r\n", 1)
        assert b'name="file"' in head
        payload = payload[: -len(b"\r\n")]
        files = chart_pkg.chart_package_files(payload)
        meta = yaml.safe_load(files["chart"])
        for chart in self.charts:
            if chart["name"] == meta["name"] and chart["version"] == meta["version"]:
                chart["DeletedAt"] = "2026-01-01T00:00:00Z"
        chart = {
            "uuid": str(uuid.uuid4()),
            "ID": self.next_id(),
            "name": meta["name"],
            "version": meta["version"],
            "DeletedAt": None,
            "templates": [
                {"name": k, "data": base64.b64encode(v).decode()}
                for k, v in files.items()
                if k.startswith("templates/")
            ],
        }
        for key in ("chart", "values", "values_template", "values_template_example"):
            chart[key] = files.get(key, b"").decode()
        self.charts.append(chart)
        return 200, {"msg": "CreateChart Success", "data": {"helmUUID": chart["uuid"]}}


@pytest.fixture
def fake():
    state, server = start_fake()
    yield state
    server.shutdown()
    server.server_close()


def start_fake() -> tuple[FakeKubefate, ThreadingHTTPServer]:
    """The fake on a free loopback port, served by a daemon thread; ``state.url`` is its URL."""
    state = FakeKubefate()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            bare = self.path.split("?", 1)[0]
            with state.lock:
                state.requests.append((self.command, self.path, headers))
                fault = None
                for i, (method, prefix, kind) in enumerate(state.faults):
                    if method == self.command and bare.startswith(prefix):
                        fault = kind
                        del state.faults[i]
                        break
                if fault == "expire":
                    state.tokens.clear()
                if fault in ("empty500", "drop_before"):
                    status, payload = (500, None) if fault == "empty500" else (None, None)
                else:
                    status, payload = state.handle(self.command, self.path, headers, body)
            if fault in ("drop_before", "drop_after"):
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            data = b"" if payload is None else json.dumps(payload).encode()
            if status == 404:
                data = b"404 page not found"
            self.send_response(status)
            if status in (301, 307):
                self.send_header("Location", self.path.rstrip("/") if self.path.endswith("/") else self.path + "/")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    return state, server


def make_service(fake, **kwargs) -> KubefateService:
    client = kf.KubefateClient(fake.url, USER, PASSWORD, timeout=5, backoff=0.0, sleep=lambda s: None, **kwargs)
    return KubefateService(client, sleep=lambda s: None)


def spec(**extra) -> dict:
    base = {
        "name": NAME,
        "namespace": NS,
        "chartName": "openfl-envoy",
        "chartVersion": "v0.3.0",
        "envoy": {"directorPort": 50051, "envoyConfigs": {"params": {"size": 128}}},
    }
    base.update(extra)
    return base


def args_for(s: dict) -> dict:
    return kf.cluster_args(s["name"], s["namespace"], s["chartName"], s["chartVersion"], s)


def chart_tgz(files: dict[str, str], top: str = "openfl-envoy") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


CHART_FILES = {
    "Chart.yaml": "apiVersion: v1\nname: openfl-envoy\nversion: v0.3.0\n",
    "values.yaml": "name: envoy-1\n",
    "values-template.yaml": "name: {{ .name }}\n",
    "templates/envoy/deployment.yaml": "kind: Deployment\n",
    "README.md": "not stored by KubeFATE\n",
}


# ---------------------------------------------------------------------------------------------
# client: auth, headers, paths, retries


def test_login_bearer_and_exact_paths(fake):
    service = make_service(fake)
    assert service.list_clusters() == []
    methods_paths = [(m, p) for m, p, _h in fake.requests]
    assert methods_paths == [("POST", "/v1/user/login"), ("GET", "/v1/cluster/")]
    assert fake.requests[1][2]["Authorization"].startswith("Bearer ")


def test_wrong_password_fails_without_leaking_it(fake):
    client = kf.KubefateClient(fake.url, USER, "wrong-pw-xyz", timeout=5, sleep=lambda s: None)
    with pytest.raises(kf.KubefateAuthError) as err:
        KubefateService(client).list_clusters()
    assert "incorrect Username or Password" in err.value.msg
    assert "wrong-pw-xyz" not in err.value.msg


def test_relogin_on_401(fake):
    service = make_service(fake)
    service.list_clusters()
    fake.faults.append(("GET", "/v1/job/", "expire"))  # service restart: every token invalid
    assert service.list_jobs() == []
    logins = [p for m, p, _h in fake.requests if p == "/v1/user/login"]
    assert len(logins) == 2


def test_host_header_is_sent(fake):
    service = make_service(fake, host_header="example.com")
    service.list_clusters()
    assert all(h.get("Host") == "example.com" for _m, _p, h in fake.requests)


def test_get_retried_on_empty_500_and_dropped_connection(fake):
    service = make_service(fake)
    fake.faults += [("GET", "/v1/cluster/", "empty500"), ("GET", "/v1/cluster/", "drop_before")]
    assert service.list_clusters() == []
    assert [p for m, p, _h in fake.requests].count("/v1/cluster/") == 3


def test_retries_are_bounded(fake):
    service = make_service(fake, retries=2)
    fake.faults += [("GET", "/v1/cluster/", "empty500")] * 5
    with pytest.raises(kf.KubefateTransportError):
        service.list_clusters()
    assert [p for m, p, _h in fake.requests].count("/v1/cluster/") == 3


def test_wrong_slash_is_an_error_not_a_redirect(fake):
    client = make_service(fake).client
    with pytest.raises(kf.KubefateError) as err:
        client.request("POST", "/v1/cluster/", {"name": "x"})
    assert err.value.status == 307
    assert not fake.clusters


def test_unreachable_service_is_a_transport_error():
    client = kf.KubefateClient("http://127.0.0.1:9", USER, PASSWORD, timeout=2, retries=1, sleep=lambda s: None)
    with pytest.raises(kf.KubefateTransportError):
        client.login()


def test_url_must_be_absolute():
    with pytest.raises(kf.KubefateError):
        kf.KubefateClient("kubefate.example.com", USER, PASSWORD)


# ---------------------------------------------------------------------------------------------
# service: install/update/delete with unknown outcomes


def test_install_body_is_snake_case_base64(fake):
    service = make_service(fake)
    job = service.install_cluster(args_for(spec()))
    body = fake.jobs[0]["meta_data"]
    assert set(body) == {"name", "namespace", "chart_name", "chart_version", "cover", "data", "Keep_upgrade_job"}
    assert body["cover"] is False
    assert json.loads(base64.b64decode(body["data"])) == spec()
    assert job["method"] == "ClusterInstall"


@pytest.mark.parametrize("kind", ["drop_after", "drop_before", "empty500"])
def test_install_with_lost_answer_never_duplicates(fake, kind):
    service = make_service(fake)
    fake.faults.append(("POST", "/v1/cluster", kind))
    job = service.install_cluster(args_for(spec()))
    assert job["method"] == "ClusterInstall"
    assert len([c for c in fake.clusters if not c["DeletedAt"]]) == 1
    posts = [p for m, p, _h in fake.requests if m == "POST" and p == "/v1/cluster"]
    assert len(posts) == (1 if kind == "drop_after" else 2)


def test_install_of_existing_cluster_reports_the_server_text(fake):
    service = make_service(fake)
    service.install_cluster(args_for(spec()))
    with pytest.raises(kf.KubefateError) as err:
        service.install_cluster(args_for(spec()))
    assert "Cluster already existed" in err.value.msg


def test_update_with_lost_answer_settles_on_new_job(fake):
    service = make_service(fake)
    service.install_cluster(args_for(spec()))
    cluster = service.find_cluster(NAME, NS)
    fake.faults.append(("PUT", "/v1/cluster", "drop_after"))
    job = service.update_cluster(args_for(spec(extra=1)), cluster)
    assert job["method"] == "ClusterUpdate"
    assert [m for m, p, _h in fake.requests].count("PUT") == 1


def test_delete_with_lost_answer(fake):
    service = make_service(fake)
    service.install_cluster(args_for(spec()))
    cluster = service.find_cluster(NAME, NS)
    fake.faults.append(("DELETE", "/v1/cluster/", "drop_after"))
    job = service.delete_cluster(cluster)
    assert job["method"] == "ClusterDelete"
    assert service.find_cluster(NAME, NS) is None


def test_spec_differs_normalises_numbers(fake):
    service = make_service(fake)
    service.install_cluster(args_for(spec()))
    cluster = service.find_cluster(NAME, NS)
    assert cluster["Spec"]["envoy"]["directorPort"] == 50051.0  # floats back from the server
    assert not service.spec_differs(cluster, spec(), "openfl-envoy", "v0.3.0")
    assert service.spec_differs(cluster, spec(), "openfl-envoy", "v0.4.0")
    assert service.spec_differs(cluster, spec(envoy={"directorPort": 50052}), "openfl-envoy", "v0.3.0")


def test_latest_job_by_cluster_or_pending_install(fake):
    service = make_service(fake)
    job = service.install_cluster(args_for(spec()))
    cluster = service.find_cluster(NAME, NS)
    assert service.latest_job(cluster, NAME, NS)["uuid"] == job["uuid"]
    fake.jobs[0]["cluster_id"] = ""  # worker not started yet
    assert service.latest_job(None, NAME, NS)["uuid"] == job["uuid"]


def test_wait_job_success_and_failure_with_states(fake):
    service = make_service(fake)
    job = service.install_cluster(args_for(spec()))
    assert service.wait_job(job["uuid"], timeout=5)["status"] == "Success"
    fake.job_final_status = "Failed"
    fake.job_states = ["update job status to Running", "helm install error, FateChart ValuesTemplate not exist"]
    failed = service.update_cluster(args_for(spec(x=2)), service.find_cluster(NAME, NS))
    with pytest.raises(kf.KubefateJobError) as err:
        service.wait_job(failed["uuid"], timeout=5)
    assert "ended Failed" in err.value.msg
    assert "FateChart ValuesTemplate not exist" in err.value.msg


def test_wait_job_deadline_reports_states(fake):
    fake.job_final_status = "Running"
    service = make_service(fake)
    clock = iter(range(0, 1000, 7))
    service._clock = lambda: next(clock)
    job = service.install_cluster(args_for(spec()))
    with pytest.raises(kf.KubefateJobError) as err:
        service.wait_job(job["uuid"], timeout=20, interval=5)
    assert "still Running after 20" in err.value.msg
    assert "create Cluster in DB Success" in err.value.msg


# ---------------------------------------------------------------------------------------------
# charts


def test_chart_upload_and_content_comparison(fake):
    service = make_service(fake)
    package = chart_tgz(CHART_FILES)
    assert service.find_chart("openfl-envoy", "v0.3.0") is None
    helm_uuid = service.upload_chart("openfl-envoy-v0.3.0.tgz", package, "openfl-envoy", "v0.3.0")
    stored = service.find_chart("openfl-envoy", "v0.3.0")
    assert stored["uuid"] == helm_uuid
    assert chart_pkg.chart_differences(stored, package) == []
    changed = chart_tgz(dict(CHART_FILES, **{"templates/envoy/deployment.yaml": "kind: Deployment # v2\n"}))
    assert chart_pkg.chart_differences(stored, changed) == ["templates/envoy/deployment.yaml"]
    added = chart_tgz(dict(CHART_FILES, **{"templates/extra.yaml": "x: 1\n"}))
    assert chart_pkg.chart_differences(stored, added) == ["templates/extra.yaml"]
    no_template = chart_tgz({k: v for k, v in CHART_FILES.items() if k != "values-template.yaml"})
    assert chart_pkg.chart_differences(stored, no_template) == ["values-template.yaml"]


def test_chart_yaml_compared_as_data():
    stored = {"chart": "name: openfl-envoy\nversion: v0.3.0\napiVersion: v1\n", "values": "name: envoy-1\n"}
    stored["values_template"] = "name: {{ .name }}\n"
    stored["templates"] = [{"name": "templates/envoy/deployment.yaml", "data": base64.b64encode(b"kind: Deployment\n")}]
    stored["templates"][0]["data"] = stored["templates"][0]["data"].decode()
    assert chart_pkg.chart_differences(stored, chart_tgz(CHART_FILES)) == []


def test_chart_upload_lost_answer_settles_by_content(fake):
    service = make_service(fake)
    package = chart_tgz(CHART_FILES)
    fake.faults.append(("POST", "/v1/chart", "drop_after"))
    assert service.upload_chart("c.tgz", package, "openfl-envoy", "v0.3.0")
    assert len([c for c in fake.charts if not c["DeletedAt"]]) == 1
    assert [p for m, p, _h in fake.requests].count("/v1/chart") == 1


def test_chart_metadata():
    assert chart_pkg.chart_metadata(chart_tgz(CHART_FILES))["version"] == "v0.3.0"
    with pytest.raises(chart_pkg.ChartError):
        chart_pkg.chart_metadata(chart_tgz({"values.yaml": "a: 1\n"}))


# ---------------------------------------------------------------------------------------------
# pure helpers


def test_normalize_and_sanitize():
    assert kf.normalize({"a": 1.0, "b": [2.5, True, None], "c": (1,)}) == {"a": 1, "b": [2.5, True, None], "c": [1]}
    masked = kf.sanitize({"envoy": {"dbPassword": "x", "token": "y", "nested": {"api_secret": "z"}, "port": 1}})
    assert masked == {"envoy": {"dbPassword": kf.MASK, "token": kf.MASK, "nested": {"api_secret": kf.MASK}, "port": 1}}


def test_multipart_shape():
    body, ctype = kf.build_multipart("file", "/tmp/x/openfl-envoy-v0.3.0.tgz", b"\x1f\x8bDATA")
    boundary = ctype.split("boundary=", 1)[1]
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert b'Content-Disposition: form-data; name="file"; filename="openfl-envoy-v0.3.0.tgz"' in body
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())


def test_summaries_drop_meta_data_and_secrets():
    job = {"uuid": "u", "status": "Success", "meta_data": {"data": "c2VjcmV0"}, "states": ["job run Success"]}
    assert "meta_data" not in kf.job_summary(job)
    cluster = {"uuid": "c", "name": NAME, "namespaces": NS, "Spec": {"password": "p", "port": 1.0}, "values": "raw"}
    summary = kf.cluster_summary(cluster)
    assert summary["namespace"] == NS
    assert summary["spec"] == {"password": kf.MASK, "port": 1}
    assert "values" not in summary


# ---------------------------------------------------------------------------------------------
# TLS: custom CA, verification failure (not retried), validate_certs=false


@pytest.fixture
def tls_fake(fake, tmp_path):
    """The fake behind a TLS front (a second server on the same state) with a throwaway CA."""
    import datetime
    import ssl

    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    state, server = start_fake()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.url = state.url.replace("http://127.0.0.1", "https://localhost")
    state.ca_path = str(tmp_path / "ca.pem")
    yield state
    server.shutdown()
    server.server_close()


def test_tls_with_custom_ca(tls_fake):
    service = make_service(tls_fake, ca_path=tls_fake.ca_path)
    assert service.list_clusters() == []


def test_tls_verification_failure_is_clear_and_not_retried(tls_fake):
    client = kf.KubefateClient(tls_fake.url, USER, PASSWORD, timeout=5, sleep=lambda s: None)
    with pytest.raises(kf.KubefateError) as err:
        client.login()
    assert not isinstance(err.value, kf.KubefateTransportError)
    assert "TLS verification" in err.value.msg
    assert len(tls_fake.requests) == 0


def test_tls_without_verification(tls_fake):
    service = make_service(tls_fake, validate_certs=False)
    assert service.list_jobs() == []


# ---------------------------------------------------------------------------------------------
# plans: decided from listings shared by many envoys


def listed(status="Running", **extra) -> dict:
    return {
        "uuid": "c-1",
        "name": NAME,
        "namespaces": NS,
        "status": status,
        "chart_name": "openfl-envoy",
        "chart_version": "v0.3.0",
        "Spec": spec(),
        "DeletedAt": None,
        **extra,
    }


JOBS = [{"uuid": "j-1", "ID": 1, "cluster_id": "c-1", "method": "ClusterInstall", "status": "Success"}]


def test_plans_from_shared_listings():
    service = KubefateService(None)
    assert service.plan_cluster(NAME, NS, spec(), [], []).action == "install"
    same = service.plan_cluster(NAME, NS, spec(), [listed()], JOBS)
    assert same.action == "none" and not same.changed and same.job["uuid"] == "j-1"
    assert service.plan_cluster(NAME, NS, spec(envoy={"directorPort": 1}), [listed()], JOBS).action == "update"
    assert service.plan_cluster(NAME, NS, None, [listed()], JOBS).action == "delete"
    assert service.plan_cluster(NAME, NS, None, [], JOBS).action == "none"
    gone = listed(DeletedAt="2026-01-01")
    assert service.plan_cluster(NAME, NS, spec(), [gone], JOBS).action == "install"
    deleting = service.plan_cluster(NAME, NS, spec(), [listed("Deleting")], JOBS)
    assert deleting.error and "re-run once that job ended" in deleting.error and deleting.job["uuid"] == "j-1"
    with pytest.raises(kf.KubefateError):
        service.apply_plan(deleting)
    assert service.plan_cluster(NAME, NS, None, [listed("Deleting")], JOBS).error is None  # absent is on its way
