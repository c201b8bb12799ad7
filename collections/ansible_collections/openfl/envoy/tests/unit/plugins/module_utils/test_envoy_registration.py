# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Registration and rejection as OpenFL 1.5, 1.6 and 1.7 log them (module_utils/envoy.py's markers),
read by the health check (module_utils/envoy_health.py) with the fakes of test_envoy_health."""

from __future__ import annotations

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils import envoy as names
from ansible_collections.openfl.envoy.tests.unit.plugins.module_utils.test_envoy_health import (
    STARTING,
    World,
    job,
    pod,
    target,
    timeline,
)

# The lines each release's Envoy.start() writes (rich's format: time, level, message, file:line).
LINES = {
    "1.5": {
        "accepted": "[12/01/26 10:00:05] INFO     Shard accepted                         envoy.py:207",
        "rejected": "[12/01/26 10:00:05] ERROR    Report shard info was not accepted     envoy.py:212",
        "unreported": "[12/01/26 10:00:05] ERROR    Failed to report shard info: <_InactiveRpcError of RPC that"
        ' terminated with: status = StatusCode.UNAVAILABLE details = "failed to connect to all addresses">'
        "    envoy.py:202",
    },
    "1.6": {
        "accepted": "[12/01/26 10:00:05] INFO     Shard was accepted by director         envoy.py:278",
        "rejected": "[12/01/26 10:00:05] ERROR    Report shard info was not accepted     envoy.py:284",
        "unreported": "[12/01/26 10:00:05] ERROR    Failed to report shard info: <_InactiveRpcError>  envoy.py:274",
    },
}
LINES["1.7"] = LINES["1.6"]  # 1.7's envoy.py is 1.6's
VERSIONS = sorted(LINES)


@pytest.fixture
def world(monkeypatch) -> World:
    return World(monkeypatch)


def test_every_version_has_its_markers():
    assert sorted(names.OPENFL_LOG_MARKERS) == VERSIONS == ["1.5", "1.6", "1.7"]
    for version, lines in LINES.items():
        for kind, line in lines.items():
            assert names.OPENFL_LOG_MARKERS[version][kind] in line, (version, kind)


@pytest.mark.parametrize("version", VERSIONS)
def test_detector_per_version(version):
    accepted, rejected, unreported = (LINES[version][k] for k in ("accepted", "rejected", "unreported"))
    assert names.registered(f"{STARTING}\n{accepted}\n") and names.rejection([STARTING, accepted]) is None
    assert not names.registered(f"{STARTING}\n{rejected}\n")
    assert names.rejection([STARTING, rejected]) == f"{names.REJECTION_REASONS['rejected']}: {rejected}"
    assert names.rejection([unreported]) == f"{names.REJECTION_REASONS['unreported']}: {unreported}"


@pytest.mark.parametrize("version", VERSIONS)
def test_health_registers_per_version(world, version):
    world.healthy("openfl-e1", log=f"{STARTING}\n{LINES[version]['accepted']}\n")
    verdict = world.run([target("e1")])["e1"]
    assert not verdict["failed"] and verdict["registered"], verdict["msg"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["rejected", "unreported"])
def test_rejection_in_a_running_log_fails_at_once_with_the_line(world, version, kind):
    line = LINES[version][kind]
    world.healthy("openfl-e1", log=f"{STARTING}\n{line}\n")
    verdict = world.run([target("e1")])["e1"]
    reason = f"{names.REJECTION_REASONS[kind]}: {line}"
    assert verdict["failed"] and not verdict["registered"] and world.clock.now < 1
    assert verdict["reasons"] == [reason]
    assert verdict["msg"].startswith(f"e1 (namespace openfl-e1): {reason}. Container states: ")


@pytest.mark.parametrize("version", VERSIONS)
def test_rejection_of_a_crash_looping_envoy_leads_the_reasons(world, version):
    """The envoy exits 1 after a rejection: the crashed instance's log says why, not only CrashLoopBackOff."""
    kube = world.kube[("/kc", "a")]
    kube.pods["openfl-e1"] = lambda now: [pod(waiting="CrashLoopBackOff", restarts=2)]
    kube.previous_logs["openfl-e1"] = f"{STARTING}\n{LINES[version]['rejected']}\n"
    verdict = world.run([target("e1")])["e1"]
    rejected = f"{names.REJECTION_REASONS['rejected']}: {LINES[version]['rejected']}"
    assert verdict["failed"] and world.clock.now < 1
    assert verdict["reasons"] == [rejected, "the envoy container cannot run (CrashLoopBackOff)"]
    crash = "e1 (namespace openfl-e1): the envoy container cannot run (CrashLoopBackOff)"
    assert verdict["msg"].startswith(f"{crash}. T{rejected[1:]}. Container states: ")


def test_rejection_above_a_long_traceback_still_leads_the_reasons(world):
    """OpenFL logs the reason, then a traceback that rich wraps to far more lines than the excerpt:
    seen first as CrashLoopBackOff, the failure still says why, and the excerpt stays short."""
    kube = world.kube[("/kc", "a")]
    kube.pods["openfl-e1"] = lambda now: [pod(waiting="CrashLoopBackOff", restarts=1)]
    traceback = [f'  File "/a/long/path/site-packages/grpc/_channel.py", line {n}, in __call__' for n in range(60)]
    kube.previous_logs["openfl-e1"] = "\n".join([STARTING, LINES["1.5"]["unreported"], *traceback]) + "\n"
    verdict = world.run([target("e1")])["e1"]
    unreported = f"{names.REJECTION_REASONS['unreported']}: {LINES['1.5']['unreported']}"
    assert verdict["failed"] and verdict["reasons"][0] == unreported
    assert f"(CrashLoopBackOff). T{unreported[1:]}. Container states: " in verdict["msg"]
    assert verdict["log_excerpt"] == traceback[-20:]


def test_rejection_while_the_job_runs(world):
    world.kubefate["http://kf-a.example:8080"].jobs["u1"] = timeline((0, job("u1", "Running")))
    kube = world.kube[("/kc", "a")]
    kube.pods["openfl-e1"] = lambda now: [pod(waiting="CrashLoopBackOff", restarts=1)]
    kube.previous_logs["openfl-e1"] = f"{STARTING}\n{LINES['1.6']['unreported']}\n"
    verdict = world.run([target("e1", "u1")], job_grace=2)["e1"]
    unreported = f"{names.REJECTION_REASONS['unreported']}: {LINES['1.6']['unreported']}"
    assert verdict["failed"] and 2 <= world.clock.now < 5
    assert verdict["reasons"][0] == unreported
    assert verdict["msg"].startswith("e1: the envoy container cannot run (CrashLoopBackOff) while KubeFATE job u1")
    assert f"helm install Success. T{unreported[1:]}. Envoy pod: " in verdict["msg"]


def test_snapshot_names_the_rejection(world):
    world.healthy("openfl-e1", log=f"{STARTING}\n{LINES['1.7']['rejected']}\n")
    world.kubefate["http://kf-a.example:8080"].clusters = []
    verdict = world.run([target("e1")], wait=False)["e1"]
    assert not verdict["failed"] and not verdict["registered"]
    assert f"{names.REJECTION_REASONS['rejected']}: {LINES['1.7']['rejected']}" in verdict["reasons"]
