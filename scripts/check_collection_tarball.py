"""Check what `ansible-galaxy collection build` put into the openfl.envoy tarball.

The tarball must carry the collection's metadata, licence, changelog, runtime requirements and
plugins, and nothing generated: no ansible-test output, no byte code, no sandbox, PKI or
artifact state, no built tarballs. Usage: python scripts/check_collection_tarball.py TARBALL
"""

from __future__ import annotations

import sys
import tarfile

REQUIRED = (
    "MANIFEST.json",
    "FILES.json",
    "LICENSE",
    "README.md",
    "CHANGELOG.rst",
    "changelogs/changelog.yaml",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "requirements.txt",
    "bindep.txt",
)
FORBIDDEN_PARTS = ("tests/output", "__pycache__", ".pytest_cache", ".sandbox", "pki", "artifacts")
FORBIDDEN_SUFFIXES = (".pyc", ".tar.gz", ".tgz", ".key", ".pem")


def problems(names: list[str]) -> list[str]:
    found = []
    for name in REQUIRED:
        if name not in names:
            found.append(f"missing: {name}")
    if not any(n.startswith("plugins/modules/") and n.endswith(".py") for n in names):
        found.append("missing: plugins/modules/*.py")
    for name in names:
        parts = name.split("/")
        joined = ["/".join(parts[i : i + 2]) for i in range(len(parts))]
        if any(p in FORBIDDEN_PARTS for p in parts + joined) or name.endswith(FORBIDDEN_SUFFIXES):
            found.append(f"generated or secret file in the tarball: {name}")
    return found


def main(path: str) -> int:
    with tarfile.open(path) as tar:
        names = [m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()]
    bad = problems(names)
    for line in bad:
        print(f"{path}: {line}", file=sys.stderr)
    if not bad:
        print(f"{path}: {len(names)} files, metadata, licence and changelog present, nothing generated")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
