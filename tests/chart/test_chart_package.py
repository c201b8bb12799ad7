"""module_utils/chart.py: deterministic packages that Helm's loader and KubeFATE's upload accept.

Helm itself (helm_python.package) is the oracle for .helmignore: for the same chart directory our
package must hold exactly the files Helm's package holds.
"""

from __future__ import annotations

import gzip
import io
import re
import shutil
import tarfile
from pathlib import Path

import helm_python
import pytest
import yaml
from ansible_collections.openfl.envoy.plugins.module_utils import chart as chart_utils
from ansible_collections.openfl.envoy.plugins.module_utils.chart import (
    ChartError,
    IgnoreRules,
    chart_digest,
    chart_files,
    package_chart,
    read_chart_metadata,
)
from helm_python.chart import Chart
from kubefate_render import CHART_DIR

SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


@pytest.fixture(scope="module")
def package() -> tuple[str, bytes]:
    return package_chart(str(CHART_DIR))


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return archive.getmembers()


def helm_package_names(chart_dir: Path, tmp_path: Path) -> list[str]:
    destination = tmp_path / "helm-out"
    destination.mkdir(exist_ok=True)
    with tarfile.open(helm_python.package(chart_dir, destination=destination)) as archive:
        return sorted(archive.getnames())


# --- the real chart ------------------------------------------------------------------------------


def test_chart_yaml_declares_v2_semver_and_the_openfl_release():
    metadata = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert metadata["apiVersion"] == "v2"
    assert metadata["name"] == "openfl-envoy"
    assert SEMVER.match(metadata["version"])
    assert metadata["appVersion"] == "1.5"
    assert read_chart_metadata(str(CHART_DIR)) == {
        "name": "openfl-envoy",
        "version": metadata["version"],
        "appVersion": "1.5",
    }


def test_packaging_twice_gives_identical_bytes(package):
    filename, data = package
    assert package_chart(str(CHART_DIR)) == (filename, data)
    assert filename == f"openfl-envoy-{read_chart_metadata(str(CHART_DIR))['version']}.tgz"
    assert chart_digest(data) == chart_digest(package_chart(str(CHART_DIR))[1])


def test_package_survives_a_copy_with_new_timestamps(package, tmp_path):
    copy = tmp_path / "openfl-envoy"
    shutil.copytree(CHART_DIR, copy)  # new mtimes, and another parent directory
    for path in copy.rglob("*"):
        path.touch()
    assert package_chart(str(copy)) == package


def test_archive_entries_are_normalised(package):
    _, data = package
    infos = members(data)
    names = [info.name for info in infos]
    assert names == sorted(names)
    assert all(name.startswith("openfl-envoy/") for name in names)
    for info in infos:
        assert info.isfile()
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode) == (0, 0, 0, "", "", 0o644)
    header = data[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] & 0x08 == 0  # no file name stored
    assert header[4:8] == b"\0\0\0\0"  # gzip mtime 0
    assert gzip.decompress(data)  # valid gzip


def test_helm_loads_the_package(package):
    _, data = package
    loaded = Chart.load_archive(data)
    assert (loaded.name, loaded.version) == ("openfl-envoy", read_chart_metadata(str(CHART_DIR))["version"])
    templates = {item["name"] for item in loaded.templates}
    assert {"templates/deployment.yaml", "templates/configmap.yaml", "templates/_helpers.tpl"} <= templates
    assert "values-template.yaml" in {item["name"] for item in loaded.files}
    assert loaded.schema


def test_package_holds_what_helm_package_holds(package, tmp_path):
    _, data = package
    assert sorted(info.name for info in members(data)) == helm_package_names(CHART_DIR, tmp_path)


def test_helmignore_keeps_ci_values_out_of_the_package(package):
    names = {info.name for info in members(package[1])}
    assert (CHART_DIR / "ci" / "lint-values.yaml").is_file()
    assert not any(name.startswith("openfl-envoy/ci/") for name in names)
    assert "openfl-envoy/README.md" in names
    assert "openfl-envoy/values-template.yaml" in names


def test_package_passes_kubefate_upload_checks(package):
    """KubeFATE's chart upload (``POST /v1/chart``, Helm's archive loader) as rules on the archive."""
    _, data = package
    names = [info.name for info in members(data)]
    tops = {name.split("/", 1)[0] for name in names}
    assert len(tops) == 1
    (top,) = tops
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        metadata = yaml.safe_load(archive.extractfile(f"{top}/Chart.yaml").read())
        assert archive.extractfile(f"{top}/values-template.yaml").read()
        assert archive.extractfile(f"{top}/values.yaml").read()
    assert metadata["name"] and SEMVER.match(str(metadata["version"]))
    assert metadata.get("type", "application") in ("", "application", "library")
    # KubeFATE's database columns: chart name <= 36, version and appVersion <= 32 characters.
    assert len(metadata["name"]) <= 36
    assert len(str(metadata["version"])) <= 32 and len(str(metadata["appVersion"])) <= 32


def test_chart_digest_format(package):
    digest = chart_digest(package[1])
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert chart_digest(b"") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --- .helmignore semantics, with Helm as the oracle ------------------------------------------------

TREE = [
    "Chart.yaml",
    "values.yaml",
    "README.md",
    "notes.txt",
    "templates/deployment.yaml",
    "templates/.hidden.yaml",
    "templates/tests/test.yaml",
    "templates/old.bak",
    "files/keep.txt",
    "files/drop.txt",
    "files/sub/deep.txt",
    "docs/a.md",
    "docs/b.png",
    "build/out.txt",
    "nested/build/out.txt",
    "x.swp",
    "sub/x.swp",
]


def make_chart(root: Path, helmignore: str | None) -> Path:
    chart_dir = root / "demo"
    for rel in TREE:
        path = chart_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        contents = {"Chart.yaml": "apiVersion: v2\nname: demo\nversion: 1.2.3\n", "values.yaml": "{}\n"}
        path.write_text(contents.get(rel, f"# {rel}\n"))
    if helmignore is not None:
        (chart_dir / ".helmignore").write_text(helmignore)
    return chart_dir


@pytest.mark.parametrize(
    "helmignore",
    [
        None,
        "",
        "# only a comment\n\n   \n",
        "*.swp\n*.bak\n",
        "build/\n",
        "/build/\n",
        "docs/*.png\nfiles/drop.txt\n",
        "files/\n",
        "notes.txt\nREADME.md\n",
        "templates/tests/\n",
        "!*.yaml\n",
        "*.swp\n!*.yaml\n",
        "fil?s/d*\n[a-c]uild/\n",
        "  *.swp  \n",
    ],
)
def test_chart_files_match_helm_package(tmp_path, helmignore):
    chart_dir = make_chart(tmp_path, helmignore)
    expected = [name.split("/", 1)[1] for name in helm_package_names(chart_dir, tmp_path)]
    assert chart_files(str(chart_dir)) == expected
    filename, data = package_chart(str(chart_dir))
    assert filename == "demo-1.2.3.tgz"
    assert sorted(info.name for info in members(data)) == sorted(f"demo/{name}" for name in expected)
    Chart.load_archive(data)


@pytest.mark.parametrize("helmignore", ["*.md\n!docs/\n", "!files/keep.txt\n", "Chart.yaml\n"])
def test_rules_that_drop_chart_yaml_fail_like_helm(tmp_path, helmignore):
    chart_dir = make_chart(tmp_path, helmignore)
    with pytest.raises(helm_python.HelmError, match=r"Chart\.yaml file is missing"):
        helm_package_names(chart_dir, tmp_path)
    with pytest.raises(ChartError, match=r"Chart\.yaml is excluded by \.helmignore"):
        package_chart(str(chart_dir))


def test_ignore_rules_semantics():
    rules = IgnoreRules(["# comment", "*.log", "tmp/", "/root.txt", "docs/*.png"])
    assert rules.ignored("a.log", False) and rules.ignored("deep/dir/a.log", False)
    assert rules.ignored("tmp", True) and not rules.ignored("tmp", False)
    assert rules.ignored("root.txt", False) and not rules.ignored("sub/root.txt", False)
    assert rules.ignored("docs/x.png", False) and not rules.ignored("docs/sub/x.png", False)
    assert rules.ignored("templates/.hidden", False)  # Helm's default rule
    assert not rules.ignored("templates/deployment.yaml", False)
    # Helm's negation: everything that does not match the negated pattern is ignored.
    negated = IgnoreRules(["!keep.txt"])
    assert not negated.ignored("keep.txt", False)
    assert negated.ignored("other.txt", False)


@pytest.mark.parametrize("rule", ["**/*.txt", "[", "a[b", "x\\"])
def test_invalid_ignore_rules_are_errors(rule):
    with pytest.raises(ChartError, match=r"\.helmignore"):
        IgnoreRules([rule])


def test_missing_or_invalid_chart_yaml(tmp_path):
    with pytest.raises(ChartError, match=r"Chart\.yaml file is missing"):
        package_chart(str(tmp_path))
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: one\n")
    with pytest.raises(ChartError, match="version 'one' is invalid"):
        package_chart(str(tmp_path))
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nversion: 1.0.0\n")
    with pytest.raises(ChartError, match="name is required"):
        package_chart(str(tmp_path))


def test_chart_yaml_reader_without_pyyaml(monkeypatch):
    with_yaml = read_chart_metadata(str(CHART_DIR))
    monkeypatch.setattr(chart_utils, "HAS_YAML", False)
    assert read_chart_metadata(str(CHART_DIR)) == with_yaml
