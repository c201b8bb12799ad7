# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One run at a time per inventory: a lock file in the PKI directory, owned by the
``ansible-playbook`` process of the run that took it.

The lock names its owner (pid, the process's start time, when, on which host), so a second run
says who holds it, and a lock whose owner is gone (killed, crashed, or failed before its release)
is recognised as stale and taken over with a warning. Taking it is one ``O_CREAT | O_EXCL``, so two
runs never both win.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class LockError(Exception):
    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


def process_start(pid: int) -> str | None:
    """The start time of a process (Linux: field 22 of /proc/<pid>/stat), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""  # alive, start time unknown


@dataclass
class Owner:
    pid: int
    start: str | None
    since: float
    host: str

    @classmethod
    def of(cls, pid: int, clock: Callable[[], float] = time.time) -> Owner:
        return cls(pid, process_start(pid), clock(), socket.gethostname())

    def as_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "start": self.start, "since": self.since, "host": self.host}

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return f"the run of pid {self.pid} on {self.host}, since {when}"

    def alive(self) -> bool:
        """Whether the owning process still runs (the same process, not a reused pid)."""
        if self.host != socket.gethostname():
            return True  # cannot tell from here: assume it runs
        start = process_start(self.pid)
        return start is not None and (not self.start or not start or start == self.start)


def read_owner(path: str) -> Owner | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return Owner(int(data["pid"]), data.get("start"), float(data.get("since") or 0), str(data.get("host") or ""))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Owner(-1, None, 0.0, "(unreadable lock file)")


def _create(path: str, owner: Owner) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(owner.as_dict(), handle)
    return True


def acquire(
    path: str,
    owner: Owner,
    wait: float = 0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Take the lock for ``owner`` (waiting up to ``wait`` seconds for a live owner to finish).
    Returns what happened: ``taken``, ``held`` (already ours), or ``taken_over`` from a stale owner."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    deadline = clock() + max(0.0, wait)
    while True:
        if _create(path, owner):
            return {"state": "taken"}
        current = read_owner(path)
        if current is None:
            continue  # released meanwhile
        if current.pid == owner.pid and current.host == owner.host:
            return {"state": "held"}
        if current.pid > 0 and not current.alive():
            # The owner is gone without releasing it: take over (rename is atomic; a racing run
            # that took over first makes our rename replace its file, so read back and compare).
            tmp = f"{path}.{owner.pid}"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(owner.as_dict(), handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
            now = read_owner(path)
            if now is not None and now.pid == owner.pid:
                return {"state": "taken_over", "stale": current.describe()}
            continue
        if clock() >= deadline:
            raise LockError(
                f"another rollout holds {path}: {current.describe()}. Wait for it to end (or run with "
                f"-e openfl_lock_wait=<seconds> to wait); if no such run exists any more, remove {path}"
            )
        sleep(min(2.0, max(0.1, deadline - clock())))


def release(path: str, owner: Owner) -> bool:
    """Remove the lock when ``owner`` holds it; whether it did."""
    current = read_owner(path)
    if current is None or current.pid != owner.pid or current.host != owner.host:
        return False
    os.unlink(path)
    return True
