"""Seed ansible-test's pip bootstrap cache so `ansible-test sanity` runs offline.

ansible-test bootstraps pip into each sanity venv with a `get-pip.py` it
downloads from a CI host this network cannot reach. It looks in its cache
first, so we place a stand-in there: it installs the pip wheel CPython ships
(ensurepip), then runs `pip install` with ansible-test's arguments. ansible-test
strips the environment, so the stand-in also writes this machine's package
index settings (the PIP_* variables) into the venv's own pip.conf, where every
later pip call in that venv finds them.
"""

from __future__ import annotations

import os
import pathlib
import sys

from ansible_test._internal.python_requirements import get_venv_packages

PIP_SETTINGS = ("PIP_CERT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST")

STAND_IN = """\
import ensurepip
import os
import subprocess
import sys

SETTINGS = {settings!r}
with open(os.path.join(sys.prefix, "pip.conf"), "w") as conf:
    conf.write("[global]\\n" + "".join(f"{{k}} = {{v}}\\n" for k, v in SETTINGS.items()))
ensurepip.bootstrap(upgrade=False, default_pip=True)
os.environ.pop("PIP_CONFIG_FILE", None)  # ensurepip points it at /dev/null
# get-pip.py takes the arguments of `pip install` plus two of its own.
OWN = {{"--no-setuptools", "--no-wheel"}}
args = [a for a in sys.argv[1:] if a not in OWN]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
"""


class _Python:
    version = "{}.{}".format(*sys.version_info[:2])


def main() -> None:
    settings = {name[4:].lower().replace("_", "-"): os.environ[name] for name in PIP_SETTINGS if os.environ.get(name)}
    pip_version = get_venv_packages(_Python())["pip"]
    cache = pathlib.Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"get_pip_{pip_version.replace('.', '_')}.py"
    target.write_text(STAND_IN.format(settings=settings))
    print(f"ansible-test pip bootstrap: {target}")


if __name__ == "__main__":
    main()
