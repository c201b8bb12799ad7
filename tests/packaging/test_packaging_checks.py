"""The packaging gates catch what they are there for: generated files in the collection tarball,
and an execution-environment context that drifts from the tested pins."""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tarball_check = load("check_collection_tarball")
ee_check = load("check_ee_context")
GALAXY = yaml.safe_load(ee_check.GALAXY.read_text())
CORE = ee_check.pins(ROOT / "requirements.txt")["ansible-core"]


def complete_tarball() -> list[str]:
    return [*tarball_check.REQUIRED, "plugins/modules/x509_ca.py", "tests/unit/plugins/modules/test_x509_ca.py"]


def test_tarball_with_everything_and_nothing_generated_passes():
    assert tarball_check.problems(complete_tarball()) == []


@pytest.mark.parametrize(
    "extra",
    [
        "tests/output/junit/sanity.xml",
        "plugins/modules/__pycache__/x509_ca.cpython-312.pyc",
        "pki/sandbox/root_ca.key",
        "artifacts/sandbox/summary.json",
        "openfl-envoy-0.1.0.tar.gz",
    ],
)
def test_tarball_with_generated_state_fails(extra):
    assert tarball_check.problems([*complete_tarball(), extra]) == [f"generated or secret file in the tarball: {extra}"]


def test_tarball_without_licence_fails():
    names = [n for n in complete_tarball() if n != "LICENSE"]
    assert tarball_check.problems(names) == ["missing: LICENSE"]


def write_context(context: Path, core: str = CORE, cryptography: str | None = None) -> None:
    """A context as `ansible-builder create` writes it for execution-environment.yml."""
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    build = context / "_build"
    (build / "collections").mkdir(parents=True)
    (context / "Containerfile").write_text(
        f'ARG EE_BASE_IMAGE="{ee["images"]["base_image"]["name"]}"\n'
        'ARG PYCMD="/usr/bin/python3.12"\n'
        f'ARG ANSIBLE_INSTALL_REFS="ansible-core=={core} ansible-runner==2.4.3"\n'
        "RUN ansible-galaxy collection install -r requirements.yml"
        ' --collections-path "/usr/share/ansible/collections"\n'
    )
    (build / "requirements.yml").write_text(yaml.safe_dump(ee["dependencies"]["galaxy"]))
    pins = list(ee["dependencies"]["python"])
    if cryptography:
        pins = [p if not p.startswith("cryptography") else f"cryptography=={cryptography}" for p in pins]
    (build / "requirements.txt").write_text("\n".join(pins) + "\n")
    (build / "bindep.txt").write_text("\n".join(ee["dependencies"]["system"]) + "\n")
    manifest = json.dumps({"collection_info": {"namespace": "openfl", "name": "envoy", "version": GALAXY["version"]}})
    with tarfile.open(build / "collections" / f"openfl-envoy-{GALAXY['version']}.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest.encode()))


def test_ee_context_as_tested_passes(tmp_path):
    write_context(tmp_path)
    assert ee_check.check(ROOT / "execution-environment.yml", tmp_path) == []


def test_ee_context_with_another_ansible_core_fails(tmp_path):
    write_context(tmp_path, core="2.20.0")
    errors = ee_check.check(ROOT / "execution-environment.yml", tmp_path)
    assert len(errors) == 1
    assert f"not ansible-core=={CORE} of requirements.txt" in errors[0]


def test_ee_context_with_an_untested_python_pin_fails(tmp_path):
    write_context(tmp_path, cryptography="1.0")
    assert ee_check.check(ROOT / "execution-environment.yml", tmp_path) == [
        "the EE pins cryptography==1.0, requirements-common.txt "
        + ee_check.pins(ROOT / "requirements-common.txt")["cryptography"]
    ]
