# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue of bad inputs: one case per fault, as data.

Each case edits a good inventory (catalogue_support.base_inventory: one site group, two envoys) so
that exactly one thing is broken, and says which line must report it: `who` (the envoy, the site
group or the file) and `what` (the field or file, a regex). Cases with `knobs` change the shared
sandbox (a KubeFATE knob) and run alone.

test_catalogue.py runs them; with PREFLIGHT_TABLE=<file> it writes the table case -> message.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from catalogue_support import CHART_DIR, CaseInventory, Pki, api_down_kubeconfig

Edit = Callable[[CaseInventory, Pki], None]


def e1(inv: CaseInventory) -> str:
    return inv.envoy(1)


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    edit: Edit
    what: str
    who: Callable[[CaseInventory], str] = e1
    knobs: dict | None = None  # the sandbox KubeFATE's, for this case only


def site(inv: CaseInventory) -> str:
    return inv.site


def pki_dir(inv: CaseInventory) -> str:
    """The CA is shared by every envoy of the inventory: its message names its file (under the PKI dir)."""
    return str(inv.pki_dir)


def anyone(_inv: CaseInventory) -> str:
    """For a field shared by every envoy (the CA passphrase): any line naming the field."""
    return ""


def chart_dir(inv: CaseInventory) -> str:
    return str(inv.tmp / "chart" / "openfl-envoy")


# --- edits ----------------------------------------------------------------------------------------


def envoy_var(name: str, value: object, envoy: int = 1) -> Edit:
    def edit(inv: CaseInventory, _pki: Pki) -> None:
        inv.host_vars[inv.envoy(envoy)][name] = value(inv) if callable(value) else value

    return edit


def site_var(name: str, value: object) -> Edit:
    """Set (or, with None, remove) one of the site group's settings."""

    def edit(inv: CaseInventory, _pki: Pki) -> None:
        settings = inv.sites[inv.site]
        if value is None:
            settings.pop(name, None)
        else:
            settings[name] = value(inv) if callable(value) else value

    return edit


def rename_envoy(new_suffix: str) -> Edit:
    def edit(inv: CaseInventory, _pki: Pki) -> None:
        old, new = inv.envoy(1), f"{inv.token}-{new_suffix}"
        inv.hosts[inv.site] = [new if h == old else h for h in inv.hosts[inv.site]]
        inv.host_vars[new] = inv.host_vars.pop(old)

    return edit


def envoy_config(change: Callable[[dict], object]) -> Edit:
    def edit(inv: CaseInventory, _pki: Pki) -> None:
        config = yaml.safe_load(yaml.safe_dump(inv.envoys["openfl_envoy_config"]))
        inv.host_vars[inv.envoy(1)]["openfl_envoy_config"] = change(config)

    return edit


def drop_template(config: dict) -> dict:
    config["shard_descriptor"].pop("template")
    return config


def missing_module(config: dict) -> dict:
    config["shard_descriptor"]["template"] = "no_such_module.NoSuchDescriptor"
    return config


def python_file(name: str) -> Edit:
    """An extra file in envoy 1's python dir."""

    def edit(inv: CaseInventory, _pki: Pki) -> None:
        pydir = inv.python_dir(inv.envoy(1))
        pydir.mkdir(parents=True, exist_ok=True)
        (pydir / "test_shard_descriptor.py").write_text("class TestShardDescriptor:\n    pass\n")
        (pydir / name).write_text("x = 1\n")

    return edit


def empty_python_dir(inv: CaseInventory, _pki: Pki) -> None:
    (inv.tmp / "empty").mkdir()
    inv.host_vars[inv.envoy(1)]["openfl_envoy_python_dir"] = str(inv.tmp / "empty")


def with_ca(days_left: float = 3650, passphrase: str | None = None) -> Edit:
    def edit(inv: CaseInventory, pki: Pki) -> None:
        pki.write_ca(inv.pki_dir, days_left=days_left)
        if passphrase is not None:
            inv.envoys["openfl_ca_passphrase"] = passphrase

    return edit


def with_envoy_files(key_pem: bytes | None = None, cn: str | None = None) -> Edit:
    def edit(inv: CaseInventory, pki: Pki) -> None:
        pki.write_ca(inv.pki_dir)
        pki.write_envoy(inv.pki_dir, inv.envoy(1), key_pem=key_pem, cn=cn)

    return edit


def garbage_envoy_certificate(inv: CaseInventory, pki: Pki) -> None:
    with_envoy_files()(inv, pki)
    (inv.pki_dir / "envoys" / inv.envoy(1) / "envoy.crt").write_text("-----BEGIN CERTIFICATE-----\ngarbage\n")


def corrupt_ca_file(name: str, text: str | None) -> Edit:
    """A good CA with one of its files replaced (text) or removed (None)."""

    def edit(inv: CaseInventory, pki: Pki) -> None:
        pki.write_ca(inv.pki_dir)
        path = inv.pki_dir / "ca" / name
        if text is None:
            path.unlink()
        else:
            path.write_text(text)

    return edit


def foreign_ca_key(inv: CaseInventory, pki: Pki) -> None:
    pki.write_ca(inv.pki_dir)
    other = Pki(key_size=2048)
    other.write_ca(inv.tmp / "other-pki")
    shutil.copy(inv.tmp / "other-pki" / "ca" / "root_ca.key", inv.pki_dir / "ca" / "root_ca.key")


def garbage_file(name: str, text: str) -> Edit:
    def edit(inv: CaseInventory, _pki: Pki) -> None:
        (inv.tmp / name).write_text(text)
        inv.sites[inv.site]["openfl_k8s_kubeconfig"] = str(inv.tmp / name)

    return edit


def kube_api_down(inv: CaseInventory, _pki: Pki) -> None:
    inv.sites[inv.site]["openfl_k8s_kubeconfig"] = str(api_down_kubeconfig(inv))


def kube_read_only(inv: CaseInventory, _pki: Pki) -> None:
    """The sandbox's read-only identity: its SelfSubjectAccessReviews deny every write the rollout does."""
    inv.sites[inv.site]["openfl_k8s_kubeconfig"] = str(inv.endpoints.viewer_kubeconfig)


def kube_token_rejected(inv: CaseInventory, _pki: Pki) -> None:
    config = yaml.safe_load(inv.endpoints.kubeconfig.read_text())
    for user in config["users"]:
        user["user"]["token"] = "not-the-token"
    path = inv.tmp / "kubeconfig-bad-token"
    path.write_text(yaml.safe_dump(config))
    inv.sites[inv.site]["openfl_k8s_kubeconfig"] = str(path)


def chart_copy(change: Callable[[Path], None]) -> Edit:
    def edit(inv: CaseInventory, _pki: Pki) -> None:
        target = Path(chart_dir(inv))
        shutil.copytree(CHART_DIR, target)
        change(target)
        inv.envoys["kubefate_chart_path"] = str(target)

    return edit


def chart_version(version: str) -> Callable[[Path], None]:
    def change(target: Path) -> None:
        meta = yaml.safe_load((target / "Chart.yaml").read_text())
        meta["version"] = version
        (target / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))

    return change


def broken_template(target: Path) -> None:
    (target / "templates" / "broken.yaml").write_text("kind: ConfigMap\nname: {{ .Values.name\n")


def second_site_group(hosts: list[int], settings: bool = True) -> Edit:
    """Another site group holding envoys `hosts` (with the same connection settings, or none)."""

    def edit(inv: CaseInventory, _pki: Pki) -> None:
        group = f"{inv.token}_other_site".replace("-", "_")
        inv.sites[group] = dict(inv.sites[inv.site], openfl_site=f"{inv.token}-other") if settings else {}
        inv.hosts[group] = [inv.envoy(n) for n in hosts]
        if not settings:
            inv.hosts[inv.site] = [h for h in inv.hosts[inv.site] if h not in inv.hosts[group]]

    return edit


def other_group(inv: CaseInventory) -> str:
    return f"{inv.token}_other_site".replace("-", "_")


def no_site_group(inv: CaseInventory, _pki: Pki) -> None:
    inv.hosts[inv.site].remove(inv.envoy(1))
    inv.loose_hosts.append(inv.envoy(1))


def kubefate_url_of_kube_api(inv: CaseInventory) -> str:
    return inv.endpoints.kube_url


CASES = (
    # --- envoy inputs -----------------------------------------------------------------------------
    Case("name-uppercase", "envoy", rename_envoy("E1"), "inventory_hostname", who=lambda inv: f"{inv.token}-E1"),
    Case(
        "name-too-long",
        "envoy",
        rename_envoy("e" * 60),
        "inventory_hostname",
        who=lambda inv: f"{inv.token}-e" + "e" * 59,
    ),
    Case(
        "namespace-invalid",
        "envoy",
        envoy_var("openfl_envoy_namespace", lambda inv: f"{inv.token}_NS"),
        "openfl_envoy_namespace",
    ),
    Case("namespace-reserved", "envoy", envoy_var("openfl_envoy_namespace", "kube-system"), "openfl_envoy_namespace"),
    Case(
        "namespace-shared",
        "envoy",
        envoy_var("openfl_envoy_namespace", lambda inv: f"openfl-{inv.envoy(1)}", envoy=2),
        "openfl_envoy_namespace",
    ),
    Case(
        "python-dir-missing",
        "envoy",
        envoy_var("openfl_envoy_python_dir", "/nonexistent/shards"),
        "openfl_envoy_python_dir",
    ),
    Case("python-dir-empty", "envoy", empty_python_dir, "openfl_envoy_python_dir"),
    Case("python-dir-bad-key", "envoy", python_file("bad name.py"), "openfl_envoy_python_dir"),
    Case("envoy-config-not-mapping", "envoy", envoy_config(lambda _c: "shard_descriptor"), "openfl_envoy_config"),
    Case("envoy-config-no-template", "envoy", envoy_config(drop_template), r"openfl_envoy_config\.shard_descriptor"),
    Case(
        "envoy-config-module-missing",
        "envoy",
        envoy_config(missing_module),
        r"openfl_envoy_config\.shard_descriptor\.template",
    ),
    Case("director-fqdn-invalid", "envoy", envoy_var("openfl_director_fqdn", "Director_!"), "openfl_director_fqdn"),
    Case("director-ip-not-ip", "envoy", envoy_var("openfl_director_ip", "director.example.org"), "openfl_director_ip"),
    Case("director-port-out-of-range", "envoy", envoy_var("openfl_director_port", 70000), "openfl_director_port"),
    Case("director-agg-port-same", "envoy", envoy_var("openfl_director_agg_port", 50051), "openfl_director_agg_port"),
    Case(
        "registry-invalid",
        "envoy",
        envoy_var("openfl_envoy_registry", "https://registry.example.org"),
        "openfl_envoy_registry",
    ),
    Case("image-uppercase", "envoy", envoy_var("openfl_envoy_image", "FedLCM-OpenFL"), "openfl_envoy_image"),
    Case("image-tag-invalid", "envoy", envoy_var("openfl_envoy_image_tag", "v0.3.0:latest"), "openfl_envoy_image_tag"),
    Case("certificate-other-cn", "envoy", with_envoy_files(cn="someone-else"), "inventory_hostname"),
    Case("certificate-unreadable", "envoy", garbage_envoy_certificate, "envoy certificate"),
    # --- site settings: Kubernetes --------------------------------------------------------------------
    Case(
        "kubeconfig-missing",
        "kubernetes",
        site_var("openfl_k8s_kubeconfig", "/nonexistent/kubeconfig"),
        "openfl_k8s_kubeconfig",
        who=site,
    ),
    Case(
        "kubeconfig-unparsable",
        "kubernetes",
        garbage_file("kubeconfig-garbage", "clusters: [unclosed\n"),
        "openfl_k8s_kubeconfig",
        who=site,
    ),
    Case(
        "context-missing",
        "kubernetes",
        site_var("openfl_k8s_context", "no-such-context"),
        "openfl_k8s_context",
        who=site,
    ),
    Case("kube-api-down", "kubernetes", kube_api_down, "openfl_k8s_(kubeconfig|context)", who=site),
    Case(
        "kube-identity-read-only",
        "kubernetes",
        kube_read_only,
        "SelfSubjectAccessReview.*openfl_k8s_context|openfl_k8s_context.*SelfSubjectAccessReview",
        who=site,
    ),
    Case(
        "kube-token-rejected",
        "kubernetes",
        kube_token_rejected,
        "openfl_k8s_(kubeconfig|context)",
        who=site,
    ),
    # --- site settings: KubeFATE ----------------------------------------------------------------------
    Case(
        "kubefate-url-down",
        "kubefate",
        site_var("openfl_kubefate_url", "http://127.0.0.1:9"),
        "openfl_kubefate_url",
        who=site,
    ),
    Case(
        "kubefate-url-no-scheme",
        "kubefate",
        site_var("openfl_kubefate_url", "kubefate.example.org"),
        "openfl_kubefate_url",
        who=site,
    ),
    Case(
        "kubefate-url-not-kubefate",
        "kubefate",
        site_var("openfl_kubefate_url", kubefate_url_of_kube_api),
        "openfl_kubefate_url",
        who=site,
    ),
    Case(
        "kubefate-wrong-password",
        "kubefate",
        site_var("openfl_kubefate_password", "not-the-password"),
        "openfl_kubefate_(password|username)",
        who=site,
    ),
    Case(
        "kubefate-wrong-username",
        "kubefate",
        site_var("openfl_kubefate_username", "nobody"),
        "openfl_kubefate_(password|username)",
        who=site,
    ),
    Case(
        "kubefate-ca-path-missing",
        "kubefate",
        site_var("openfl_kubefate_ca_path", "/nonexistent/ca.pem"),
        "openfl_kubefate_ca_path",
        who=site,
    ),
    Case(
        "kubefate-old-version",
        "kubefate",
        lambda inv, pki: None,
        "v1\\.2\\.0",
        who=site,
        knobs={"service_version": "v1.2.0"},
    ),
    # --- chart ------------------------------------------------------------------------------------------
    Case(
        "chart-version-not-semver",
        "chart",
        chart_copy(chart_version("one.two")),
        "version",
        who=chart_dir,
    ),
    Case("chart-template-broken", "chart", chart_copy(broken_template), "broken.yaml", who=chart_dir),
    # --- PKI state --------------------------------------------------------------------------------------
    Case(
        "ca-wrong-passphrase",
        "pki",
        with_ca(passphrase="not-the-ca-passphrase"),
        "openfl_ca_passphrase",
        who=anyone,
    ),
    Case("ca-expired", "pki", with_ca(days_left=-1), "root_ca.crt", who=pki_dir),
    Case("ca-expires-before-envoy-certs", "pki", with_ca(days_left=100), "root_ca.crt", who=pki_dir),
    Case(
        "ca-key-corrupt",
        "pki",
        corrupt_ca_file("root_ca.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\ngarbage\n"),
        "root_ca.key",
        who=pki_dir,
    ),
    Case("ca-key-missing", "pki", corrupt_ca_file("root_ca.key", None), "root_ca.key", who=pki_dir),
    Case("ca-key-of-another-ca", "pki", foreign_ca_key, "root_ca.key", who=pki_dir),
    Case(
        "ca-no-passphrase",
        "pki",
        lambda inv, pki: inv.envoys.pop("openfl_ca_passphrase"),
        "openfl_ca_passphrase",
        who=anyone,
    ),
    Case(
        "envoy-key-corrupt",
        "pki",
        with_envoy_files(key_pem=b"-----BEGIN PRIVATE KEY-----\ngarbage\n"),
        "priv.key",
    ),
    Case("envoy-key-other-type", "pki", with_envoy_files(), "priv.key|key"),
    # --- inventory shape --------------------------------------------------------------------------------
    Case(
        "envoy-in-two-site-groups",
        "inventory",
        second_site_group([1]),
        "_site.*_other_site|_other_site.*_site",
    ),
    Case("envoy-in-no-site-group", "inventory", no_site_group, "site group"),
    Case(
        "site-without-connection",
        "inventory",
        second_site_group([2], settings=False),
        "openfl_k8s_kubeconfig|openfl_kubefate_url",
        who=other_group,
    ),
    Case(
        "site-without-kubefate-url",
        "inventory",
        site_var("openfl_kubefate_url", None),
        "openfl_kubefate_url",
        who=site,
    ),
)
