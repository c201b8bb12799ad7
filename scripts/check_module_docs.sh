#!/usr/bin/env bash
# `ansible-doc` renders every openfl.envoy module with the toolchain in BIN, without warnings,
# and `ansible-doc -l openfl.envoy` lists exactly the modules in plugins/modules/.
#   scripts/check_module_docs.sh BIN
set -euo pipefail
bin="${1:?usage: check_module_docs.sh BIN}"
root="$(cd "$(dirname "$0")/.." && pwd)"
export ANSIBLE_CONFIG="${ANSIBLE_CONFIG:-$root/ansible.cfg}"
cd "$root"

version="$("$bin/ansible-doc" --version | sed -n 1p)"
expected="$(cd collections/ansible_collections/openfl/envoy/plugins/modules && ls ./*.py | sed 's|^\./||; s|\.py$||' | sort)"
listed="$("$bin/ansible-doc" -t module -l openfl.envoy 2>/dev/null | awk '{print $1}' | sed 's/^openfl\.envoy\.//' | sort)"
if [[ "$listed" != "$expected" ]]; then
  echo "ansible-doc -l openfl.envoy lists:"$'\n'"$listed"$'\n'"expected:"$'\n'"$expected" >&2
  exit 1
fi
failed=0
for module in $expected; do
  if ! out="$("$bin/ansible-doc" -t module "openfl.envoy.$module" 2>&1)"; then
    echo "ansible-doc openfl.envoy.$module failed:"$'\n'"$out" >&2; failed=1; continue
  fi
  if grep -qE '\[(WARNING|ERROR|DEPRECATION WARNING)\]' <<<"$out" \
     || ! grep -q "openfl.envoy.$module" <<<"$out" || ! grep -q 'EXAMPLES' <<<"$out"; then
    echo "ansible-doc openfl.envoy.$module did not render cleanly:"$'\n'"$out" >&2; failed=1
  fi
done
[[ $failed == 0 ]] && echo "$version: ansible-doc renders all $(wc -w <<<"$expected") openfl.envoy modules"
exit $failed
