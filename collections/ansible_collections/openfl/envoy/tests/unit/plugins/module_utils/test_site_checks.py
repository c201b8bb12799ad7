# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The site checks with fake probes and clients: inventory shape, once per site, blame, verdicts."""

from __future__ import annotations

from ansible_collections.openfl.envoy.plugins.module_utils import site_probes
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import K8sError
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import KubefateAuthError, KubefateTransportError
from ansible_collections.openfl.envoy.plugins.module_utils.site_checks import Probes, check_sites, site_groups
from ansible_collections.openfl.envoy.tests.unit.pki_factory import PASS

KUBEFATE = {"url": "https://kf.a", "username": "admin", "password": "pw"}
GROUPS = {
    "all": ["e1", "e2", "e3", "director"],
    "envoys": ["e1", "e2", "e3"],
    "site_a": ["e1", "e2"],
    "site_b": ["e3"],
    "directors": ["director"],
    "ungrouped": [],
}


def entry(name: str, context: str = "a", **kubefate: str) -> dict:
    return {
        "name": name,
        "namespace": f"openfl-{name}",
        "kubernetes": {"kubeconfig": "/k", "context": context},
        "kubefate": {**KUBEFATE, **kubefate},
    }


class Calls(Probes):
    """Probes that record their calls and answer from tables."""

    def __init__(self, k8s: dict | None = None, kubefate: dict | None = None) -> None:
        self.calls: list[tuple] = []
        self.kubernetes = lambda kc, ctx, ns: self._log(("k8s", ctx, ns), (k8s or {}).get(ctx, []))
        self.kubefate = lambda conn: self._log(("kubefate", conn["url"]), ((kubefate or {}).get(conn["url"], []), []))
        self.chart = lambda path: self._log(("chart", path), ([], []))
        self.ca = lambda *args: self._log(("ca",), [])

    def _log(self, call: tuple, answer):
        self.calls.append(call)
        return answer


def test_site_groups_are_the_groups_of_envoys_only():
    assert site_groups(GROUPS) == {"site_a": ["e1", "e2"], "site_b": ["e3"]}


def test_each_site_is_checked_once_and_its_errors_go_to_its_envoys():
    probes = Calls(k8s={"a": ["API down"]})
    entries = [entry("e1"), entry("e2"), entry("e3", context="b", url="https://kf.b")]
    result = check_sites(
        entries,
        GROUPS,
        "/chart",
        {"certificate_path": "c", "private_key_path": "k", "mode": "create", "valid_days": 365},
        probes=probes,
    )
    assert sorted(probes.calls) == sorted(
        [
            ("k8s", "a", "openfl-e1"),
            ("k8s", "b", "openfl-e3"),
            ("kubefate", "https://kf.a"),
            ("kubefate", "https://kf.b"),
            ("chart", "/chart"),
            ("ca",),
        ]
    )
    assert result["errors"] == ["site group site_a (e1, e2): API down"]
    assert result["bad"] == ["e1", "e2"] and result["bad_sites"] == ["site_a"]
    assert result["envoys"]["e1"]["msg"] == "site group site_a (e1, e2): API down"
    assert (
        result["envoys"]["e3"]["failed"] and "not started: preflight found a bad site" in result["envoys"]["e3"]["msg"]
    )

    lenient = check_sites(entries, GROUPS, None, None, any_errors_fatal=False, probes=Calls(k8s={"a": ["x"]}))
    assert not lenient["envoys"]["e3"]["failed"]


def test_inventory_shape_and_missing_settings_skip_the_probes():
    groups = dict(GROUPS, site_b=["e1", "e3"], envoys=["e1", "e2", "e3", "e4"], all=["e1", "e2", "e3", "e4"])
    probes = Calls()
    entries = [entry("e1"), entry("e2", url=""), entry("e3"), entry("e4")]
    result = check_sites(entries, groups, None, None, probes=probes)
    errors = result["errors"]
    assert errors[0].startswith("e1: inventory: the envoy is in 2 site groups, site_a and site_b")
    assert errors[1].startswith("site group site_a: e2: openfl_kubefate_url not set; set them in group_vars/site_a/")
    assert errors[2].startswith("e4: inventory: the envoy is in no site group")
    assert probes.calls == [("k8s", "a", "openfl-e3"), ("kubefate", "https://kf.a")]
    assert result["bad"] == ["e1", "e2", "e4"]


class FakeK8s:
    def __init__(self, kubeconfig, context, down=False, denied=(), token_rejected=False):
        self.down, self.denied, self.token_rejected = down, set(denied), token_rejected

    def version(self):
        if self.down:
            raise K8sError("cannot reach the Kubernetes API at https://k: refused")

    def can(self, verb, resource, group, subresource, namespace):
        if self.token_rejected:
            raise K8sError("create selfsubjectaccessreviews: HTTP 401", status=401, detail="Unauthorized")
        return (verb, resource) not in self.denied


def write_kubeconfig(tmp_path, contexts=("a",)):
    path = tmp_path / "kubeconfig"
    names = "".join(f"- name: {c}\n  context: {{cluster: c, user: u}}\n" for c in contexts)
    path.write_text(f"apiVersion: v1\nkind: Config\ncontexts:\n{names}current-context: ''\n")
    return str(path)


def test_kubernetes_probe(tmp_path):
    check = site_probes.check_kubernetes
    assert "does not exist" in check(str(tmp_path / "none"), "a", "ns")[0]
    bad = tmp_path / "bad"
    bad.write_text("{not: [yaml")
    assert "is not YAML" in check(str(bad), "a", "ns")[0]
    path = write_kubeconfig(tmp_path)
    assert "openfl_k8s_context 'b' is not a context of" in check(path, "b", "ns")[0]
    assert "has no current-context" in check(path, None, "ns")[0]
    assert check(path, "a", "ns", probe_factory=FakeK8s) == []
    down = check(path, "a", "ns", probe_factory=lambda kc, ctx: FakeK8s(kc, ctx, down=True))
    assert "does not answer: cannot reach" in down[0]
    denied = check(path, "a", "ns", probe_factory=lambda kc, ctx: FakeK8s(kc, ctx, denied={("update", "secrets")}))
    assert "may not update secrets (SelfSubjectAccessReview, namespace 'ns')" in denied[0]
    rejected = check(path, "a", "ns", probe_factory=lambda kc, ctx: FakeK8s(kc, ctx, token_rejected=True))
    assert "refused the credentials of context 'a'" in rejected[0] and "openfl_k8s_kubeconfig" in rejected[0]


class FakeKubefate:
    def __init__(self, fail=None, version="v1.4.5"):
        self.fail, self.version, self.logins = fail, version, 0

    def __call__(self, params, retries):
        assert retries == site_probes.PROBE_RETRIES
        return self

    def login(self):
        self.logins += 1
        if self.fail:
            raise self.fail

    def request(self, method, path):
        assert (method, path) == ("GET", "/v1/version/")
        return {"version": self.version}


def test_kubefate_probe():
    check = site_probes.check_kubefate
    refused = FakeKubefate(KubefateAuthError("no", 401, '{"code":401,"message":"incorrect Username or Password"}'))
    errors = check(KUBEFATE, refused)[0]
    assert refused.logins == 1 and "was refused (HTTP 401)" in errors[0] and "pw" not in errors[0]
    status = '{"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}'
    not_kubefate = FakeKubefate(KubefateAuthError("no", 401, status))
    assert "not as KubeFATE does (Unauthorized)" in check(KUBEFATE, not_kubefate)[0][0]
    assert (
        "openfl_kubefate_ca_path '/nonexistent/ca.pem' does not exist"
        in check(dict(KUBEFATE, ca_path="/nonexistent/ca.pem"), FakeKubefate())[0][0]
    )
    assert "does not answer" in check(KUBEFATE, FakeKubefate(KubefateTransportError("timed out")))[0][0]
    assert check(KUBEFATE, FakeKubefate(version="v1.4.1")) == ([], [])
    assert "supports v1.4.1 to v1.4.5" in check(KUBEFATE, FakeKubefate(version="v1.3.0"))[0][0]
    assert "newer than" in check(KUBEFATE, FakeKubefate(version="v1.5.0"))[1][0]


def test_ca_probe(ca_dir):
    cert, key = str(ca_dir / "root_ca.crt"), str(ca_dir / "root_ca.key")
    check = site_probes.check_ca
    assert check(cert, key, PASS, "create", 365) == []
    assert check(cert, key, "wrong", "create", 365)[0].startswith("openfl_ca_passphrase does not open the CA key")
    assert "envoy_cert_valid_days=100000" in check(cert, key, PASS, "create", 100000)[0]
    missing = str(ca_dir / "none.crt"), str(ca_dir / "none.key")
    assert check(*missing, PASS, "create", 365) == []
    assert "ca_mode existing: no CA" in check(*missing, PASS, "existing", 365)[0]
    assert "openfl_ca_passphrase is not set" in check(*missing, None, "create", 365, passphrase_missing=True)[0]
