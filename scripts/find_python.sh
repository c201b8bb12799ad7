#!/usr/bin/env bash
# Print the path of a Python interpreter of the given minor version (e.g. 3.12):
# the first working `pythonX.Y` on PATH, else the newest pyenv build of it.
# Exits non-zero with a message on stderr when there is none.
set -uo pipefail
want="${1:?usage: find_python.sh 3.12}"

works() {  # a pyenv shim exists on PATH even when its version is not selected
  "$1" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null
}

if cand="$(command -v "python$want" 2>/dev/null)" && works "$cand"; then
  echo "$cand"; exit 0
fi
# pyenv's root: `pyenv root` when pyenv is on PATH, else where pyenv installs by default.
root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
for cand in $(ls -d "$root"/versions/"$want".*/bin/"python$want" 2>/dev/null | sort -rV); do
  if works "$cand"; then echo "$cand"; exit 0; fi
done
echo "error: Python $want not found (looked for python$want on PATH and in $root/versions/$want.*)." >&2
echo "       Install it (e.g. 'pyenv install $want'), or pass its path to make:" >&2
echo "       PYTHON=/path/to/python$want (default toolchain) or PYTHON_OLDEST=... (make test-oldest)." >&2
exit 1
