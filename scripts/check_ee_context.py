"""Check the build context `ansible-builder create` wrote for execution-environment.yml.

No container engine is needed: the checks read the generated Containerfile and _build/ files
and compare them with what this repository tests, so the EE cannot drift from it:
  * the base image and Python 3.12 interpreter of the EE file are the ones the Containerfile uses;
  * ansible-core in the EE is the pin of requirements.txt, and ansible-runner is installed;
  * the openfl.envoy tarball is in the context, at the path requirements.yml names, and carries
    the version of galaxy.yml; kubernetes.core is asked for with galaxy.yml's range;
  * every Python pin of the EE equals the one in requirements-common.txt;
  * ansible.cfg's collections_path searches where the EE installs its collections.
Usage: python scripts/check_ee_context.py execution-environment.yml CONTEXT_DIR
"""

from __future__ import annotations

import configparser
import json
import re
import sys
import tarfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GALAXY = ROOT / "collections/ansible_collections/openfl/envoy/galaxy.yml"


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a requirements file (no -r follow-up)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def check(ee_file: Path, context: Path) -> list[str]:
    errors: list[str] = []
    ee = yaml.safe_load(ee_file.read_text())
    galaxy = yaml.safe_load(GALAXY.read_text())
    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"

    if ee.get("version") != 3:
        errors.append(f"{ee_file}: version must be 3 (ansible-builder 3 schema)")
    base = ee["images"]["base_image"]["name"]
    if f'ARG EE_BASE_IMAGE="{base}"' not in containerfile:
        errors.append(f"Containerfile does not build FROM {base}")
    if 'ARG PYCMD="/usr/bin/python3.12"' not in containerfile:
        errors.append("Containerfile does not use /usr/bin/python3.12")

    core = pins(ROOT / "requirements.txt")["ansible-core"]
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile)
    refs_list = refs.group(1).split() if refs else []
    if f"ansible-core=={core}" not in refs_list:
        errors.append(f"the EE installs {refs_list}, not ansible-core=={core} of requirements.txt")
    if not any(ref.startswith("ansible-runner") for ref in refs_list):
        errors.append("the EE does not install ansible-runner (AWX needs it)")

    collections = yaml.safe_load((build / "requirements.yml").read_text())["collections"]
    by_name = {c["name"]: c for c in collections}
    tarball_name = f"openfl-envoy-{galaxy['version']}.tar.gz"
    tarball_entries = [c for c in collections if c.get("type") == "file" and c["name"].endswith(tarball_name)]
    if len(tarball_entries) != 1:
        errors.append(f"requirements.yml does not install {tarball_name} (galaxy.yml's version) as a file")
    else:
        in_context = build / Path(tarball_entries[0]["name"]).relative_to("/build")
        if not in_context.is_file():
            errors.append(f"{tarball_entries[0]['name']} is not in the build context ({in_context})")
        else:
            with tarfile.open(in_context) as tar:
                manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
            if (manifest["namespace"], manifest["name"], manifest["version"]) != ("openfl", "envoy", galaxy["version"]):
                errors.append(f"{in_context} holds {manifest['namespace']}.{manifest['name']} {manifest['version']}")
    for dep, wanted in galaxy["dependencies"].items():
        if by_name.get(dep, {}).get("version") != wanted:
            errors.append(f"requirements.yml asks for {dep} {by_name.get(dep, {}).get('version')}, galaxy.yml {wanted}")

    tested = pins(ROOT / "requirements-common.txt")
    for name, version in pins(build / "requirements.txt").items():
        if tested.get(name) != version:
            errors.append(f"the EE pins {name}=={version}, requirements-common.txt {tested.get(name)}")
    installed_to = re.search(r'collection install .*--collections-path "([^"]+)"', containerfile)
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    searched = cfg.get("defaults", "collections_path", fallback="").split(":")
    if installed_to and installed_to.group(1) not in searched:
        errors.append(f"ansible.cfg's collections_path {searched} leaves out the EE's {installed_to.group(1)}")
    if not (build / "bindep.txt").read_text().strip():
        errors.append("the EE names no system packages (_build/bindep.txt is empty)")
    return errors


def main(ee_file: str, context: str) -> int:
    errors = check(Path(ee_file), Path(context))
    for error in errors:
        print(f"ee-check: {error}", file=sys.stderr)
    if not errors:
        print(f"ee-check: {context} builds {yaml.safe_load(Path(ee_file).read_text())['options']['tags'][0]} as tested")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
