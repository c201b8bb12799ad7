"""The pure parts of bench/rollout.py: rows, site layout, recap and counter parsing (no sandbox, no Ansible)."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest
import yaml

from bench import rollout  # tests/conftest.py puts the project root on sys.path

RECAP = """\
TASK [Ping] ********************************************************************
ok: [envoy-1]

PLAY RECAP *********************************************************************
envoy-1                    : ok=25   changed=0    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0
envoy-2                    : ok=25   changed=2    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0
localhost                  : ok=4    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0

Playbook run took 0 days, 0 hours, 1 minutes, 29 seconds
"""


@pytest.mark.parametrize(
    ("text", "envoys", "sites", "latency"),
    [("10", 10, 1, 0.0), ("200@4", 200, 4, 0.0), ("10:10", 10, 1, 10.0), ("50@2:2.5", 50, 2, 2.5), (" 4@4 ", 4, 4, 0)],
)
def test_parse_row(text: str, envoys: int, sites: int, latency: float) -> None:
    assert rollout.parse_row(text) == rollout.Layout(envoys, sites, latency)


@pytest.mark.parametrize("text", ["", "x", "10@", "10@0", "3@4", "0", "10:", "10:-1", "10@2@3", "-5"])
def test_parse_row_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        rollout.parse_row(text)


def test_site_envoys_are_contiguous_blocks_of_nearly_equal_size() -> None:
    assert rollout.Layout(3).site_envoys() == {"site-1": ["envoy-1", "envoy-2", "envoy-3"]}
    layout = rollout.Layout(10, 3).site_envoys()
    assert {site: len(envoys) for site, envoys in layout.items()} == {"site-1": 4, "site-2": 3, "site-3": 3}
    assert [e for envoys in layout.values() for e in envoys] == [f"envoy-{i}" for i in range(1, 11)]
    assert [len(v) for v in rollout.Layout(200, 4).site_envoys().values()] == [50] * 4


def test_parse_recap_reads_every_counter_of_the_last_recap() -> None:
    recap = rollout.parse_recap("PLAY RECAP ***\nold : ok=1 changed=9 unreachable=0 failed=0\n" + RECAP)
    assert set(recap) == {"envoy-1", "envoy-2", "localhost"}
    assert recap["envoy-2"] == {
        "ok": 25, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 3, "rescued": 0, "ignored": 0
    }  # fmt: skip
    assert rollout.parse_recap("no recap at all\nenvoy-1 : ok=1 changed=0\n") == {}


def test_noop_problem() -> None:
    recap = rollout.parse_recap(RECAP)
    assert rollout.noop_problem(recap, ["envoy-1"]) == "changed=2 on envoy-2"  # any changed host counts
    assert rollout.noop_problem(recap, ["envoy-1", "envoy-2"]) == "changed=2 on envoy-2"
    assert rollout.noop_problem(recap, ["envoy-1", "envoy-3"]) == "no recap for envoy-3"
    del recap["envoy-2"]
    assert rollout.noop_problem(recap, ["envoy-1"]) is None


def test_count_invocations() -> None:
    assert rollout.count_invocations("") == 0
    assert rollout.count_invocations("stdin\n/root/.ansible/tmp/a/AnsiballZ_ping.py\nstdin\n\n") == 3


def test_envoys_option_follows_the_sandbox_cli() -> None:
    assert rollout.envoys_option("usage: python -m sandbox [--sites SITES]") == []
    assert rollout.envoys_option("  --envoys {real,emulated}  how envoys run") == ["--envoys", "emulated"]


def test_inventory_has_one_group_per_site_under_envoys(tmp_path: Path) -> None:
    inventory = rollout.write_inventory(tmp_path, rollout.Layout(3, 2))
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())
    groups = hosts["all"]["children"]["envoys"]["children"]
    assert {g: list(v["hosts"]) for g, v in groups.items()} == {"site_1": ["envoy-1", "envoy-2"], "site_2": ["envoy-3"]}
    assert yaml.safe_load((inventory / "group_vars" / "site_2.yml").read_text()) == {"openfl_site": "site-2"}
    assert (inventory / "group_vars" / "envoys" / "main.yml").is_file()


def test_interpreter_wrapper_counts_and_passes_arguments_and_stdin(tmp_path: Path) -> None:
    wrapper, counter = rollout.write_interpreter(tmp_path)
    code = "import sys; print(sys.argv[1:], sys.stdin.read())"
    piped = subprocess.run([str(wrapper)], input=code, capture_output=True, text=True, check=True)  # as pipelining
    assert piped.stdout == "[] \n"
    script = tmp_path / "script.py"
    script.write_text(code)
    direct = subprocess.run([str(wrapper), str(script), "a b"], input="in", capture_output=True, text=True, check=True)
    assert direct.stdout == "['a b'] in\n"
    assert counter.read_text().splitlines() == ["stdin", str(script)]
    assert rollout.count_invocations(counter.read_text()) == 2
