"""`site.yml --check --diff` on a fresh site predicts exactly the changes the real run then makes."""

from __future__ import annotations

import re

from kubefate_support import finish, rollout

CHANGE = re.compile(r"^changed: \[([^\]]+)\]", re.M)


def changes(out: str) -> list[tuple[str, str]]:
    """(task, host) of every change in a default-callback log."""
    found, task = [], ""
    for line in out.splitlines():
        if line.startswith("TASK ["):
            task = line.split("[", 1)[1].split("]", 1)[0]
        elif match := CHANGE.match(line):
            found.append((task, match[1]))
    return sorted(found)


def test_check_mode_predicts_every_change_and_creates_nothing(make_kf_site, kf, tmp_path):
    site = make_kf_site(2, openfl_ca_passphrase="check-mode-test-passphrase")
    rc, preview = finish(rollout(site, tmp_path, "--check", "--diff"))
    assert rc == 0, preview[-3000:]
    assert kf.clusters(site.envoys[0]) == [] and not (site.pki_dir / "ca").exists()
    rc, real = finish(rollout(site, tmp_path))
    assert rc == 0, real[-3000:]
    assert changes(preview) == changes(real)
    assert len(changes(real)) >= 8
