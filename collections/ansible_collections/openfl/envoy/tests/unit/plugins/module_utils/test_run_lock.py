# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run lock: one owner at a time, a clear message naming the holder, stale owners taken over."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils.run_lock import (
    LockError,
    Owner,
    acquire,
    read_owner,
    release,
)


@pytest.fixture
def lock(tmp_path):
    return str(tmp_path / "pki" / ".rollout.lock")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_take_hold_release(lock):
    me = Owner.of(os.getpid())
    assert acquire(lock, me) == {"state": "taken"}
    assert oct(os.stat(lock).st_mode & 0o777) == "0o600"
    assert acquire(lock, me) == {"state": "held"}
    assert read_owner(lock).pid == os.getpid()
    assert release(lock, me) is True
    assert not os.path.exists(lock)
    assert release(lock, me) is False


def test_a_live_owner_stops_a_second_run_naming_it(lock):
    other = Owner.of(os.getppid())  # alive: the test runner's parent
    acquire(lock, other)
    with pytest.raises(LockError) as err:
        acquire(lock, Owner.of(os.getpid()))
    assert f"pid {os.getppid()}" in err.value.msg
    assert "openfl_lock_wait" in err.value.msg and f"remove {lock}" in err.value.msg
    assert release(lock, Owner.of(os.getpid())) is False  # not ours: left alone
    assert read_owner(lock).pid == os.getppid()


def test_a_second_run_waits_then_fails(lock):
    acquire(lock, Owner.of(os.getppid()))
    clock = iter(range(100))
    slept = []
    with pytest.raises(LockError):
        acquire(lock, Owner.of(os.getpid()), wait=5, sleep=slept.append, clock=lambda: next(clock))
    assert slept  # it waited before giving up


def test_a_dead_owner_is_stale_and_taken_over(lock):
    gone = Owner.of(os.getpid())
    gone.pid, gone.start = dead_pid(), "1"
    os.makedirs(os.path.dirname(lock))
    with open(lock, "w") as handle:
        json.dump(gone.as_dict(), handle)
    outcome = acquire(lock, Owner.of(os.getpid()))
    assert outcome["state"] == "taken_over"
    assert f"pid {gone.pid}" in outcome["stale"]
    assert read_owner(lock).pid == os.getpid()


def test_a_reused_pid_is_not_the_owner(lock):
    impostor = Owner.of(os.getppid())
    impostor.start = "0"  # same pid, another process start time
    assert not impostor.alive()
    assert Owner.of(os.getppid()).alive()
