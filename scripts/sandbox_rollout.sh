#!/usr/bin/env bash
# One sandbox rollout of site.yml in a throw-away copy of the project, so that it neither
# reads nor leaves state (.sandbox, pki, artifacts) in the working tree.
#
#   scripts/sandbox_rollout.sh BIN              the in-tree collection, the toolchain in BIN
#   scripts/sandbox_rollout.sh BIN --installed  build the collection, install the tarball into
#                                               an empty collections path and roll out with the
#                                               copy's collections/ removed, so every
#                                               openfl.envoy module comes from the installed copy
set -euo pipefail
bin="$(cd "${1:?usage: sandbox_rollout.sh BIN [--installed]}" && pwd)"
mode="${2:-in-tree}"
root="$(cd "$(dirname "$0")/.." && pwd)"
collection="$root/collections/ansible_collections/openfl/envoy"
export PATH="$bin:$PATH"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/openfl-rollout.XXXXXX")"
project="$tmp/project"
cleanup() {
  [[ -d "$project/.sandbox" ]] && (cd "$project" && "$bin/python" -m sandbox down --purge >/dev/null 2>&1 || true)
  rm -rf "$tmp"
}
trap cleanup EXIT

# The project's tracked and new files, as a fresh clone would have them (no .venv, no state;
# files deleted but not yet committed are skipped).
mkdir -p "$project"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 tar --ignore-failed-read -cf - --) | tar -xf - -C "$project"
export ANSIBLE_CONFIG="$project/ansible.cfg"

if [[ "$mode" == "--installed" ]]; then
  "$bin/ansible-galaxy" collection build --output-path "$tmp/dist" "$collection"
  tarball="$(ls "$tmp"/dist/openfl-envoy-*.tar.gz)"
  "$bin/python" "$root/scripts/check_collection_tarball.py" "$tarball"
  rm -rf "$project/collections"   # a playbook's adjacent collections/ would win otherwise
  export ANSIBLE_COLLECTIONS_PATH="$tmp/collections"
  # --offline: Galaxy is not reachable; the dependency kubernetes.core is satisfied by the
  # ansible bundle's copy (site-packages), which ansible-galaxy and ansible-playbook also see.
  "$bin/ansible-galaxy" collection install --offline -p "$tmp/collections" "$tarball"
  found="$("$bin/ansible-galaxy" collection list openfl.envoy --format json)"
  "$bin/python" - "$found" "$tmp/collections/ansible_collections" <<'PY'
import json, sys
found, expected = json.loads(sys.argv[1]), sys.argv[2]
if list(found) != [expected]:
    sys.exit(f"openfl.envoy resolves from {list(found)}, expected only {expected}")
print(f"openfl.envoy {found[expected]['openfl.envoy']['version']} resolves from {expected} only")
PY
fi

cd "$project"
"$bin/ansible" --version | sed -n 1p
"$bin/python" -m sandbox up --fresh --envoys emulated  # OpenFL itself is proven by make demo and molecule
"$bin/ansible-playbook" -i inventories/sandbox site.yml
