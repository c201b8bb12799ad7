"""Rollout benchmark on the sandbox, measured from outside the roles and modules.

Each row is `N[@S][:L]`: N envoys spread over S sandbox sites (default 1) whose KubeFATE jobs stay
Pending L seconds (default 0); the default rows are 10 50 200@4 10:10 50:10 (`--quick`: 10). For
each row it starts a fresh sandbox with those sites, generates an inventory (one group per site
under `envoys`, each with its `openfl_site`, sharing the group_vars/envoys of inventories/sandbox)
and runs, one after the other:

- cold: `site.yml` from nothing (CA, certificates, Kubernetes objects, charts, KubeFATE installs);
- no-op: `site.yml` again, which must report changed=0 on every host (the benchmark fails if not);
- floor: one no-op module task (`ansible.builtin.ping`) per host: what Ansible itself costs.

Per run: wall time; CPU seconds (user+sys) and peak RSS (the largest single process) of
ansible-playbook and every process it waited for (os.wait4); module processes, counted by an
`ansible_python_interpreter` wrapper (-e wins over group_vars) that appends a line to a file and
execs this Python (stdin passes through, so pipelining works); KubeFATE requests, as deltas of
`python -m sandbox stats`. Rows are printed as measured (Markdown) and, with --json, written as JSON.

Machines here are noisy: compare ratios from one run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROWS = ("10", "50", "200@4", "10:10", "50:10")
ROW = re.compile(r"(\d+)(?:@(\d+))?(?::(\d+(?:\.\d+)?))?")
FLOOR_PLAYBOOK = """\
- name: Floor | one no-op module task per host
  hosts: envoys
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


@dataclass(frozen=True)
class Layout:
    """One row: `envoys` envoys over `sites` sandbox sites, KubeFATE jobs Pending `latency` seconds."""

    envoys: int
    sites: int = 1
    latency: float = 0.0

    def __str__(self) -> str:
        return f"{self.envoys}@{self.sites}:{self.latency:g}"

    def site_envoys(self) -> dict[str, list[str]]:
        """Site name -> its envoys: envoy-1..N in contiguous blocks over site-1..S, sizes differing by <= 1."""
        per_site, extra = divmod(self.envoys, self.sites)
        layout, first = {}, 1
        for k in range(1, self.sites + 1):
            size = per_site + (k <= extra)
            layout[f"site-{k}"] = [f"envoy-{i}" for i in range(first, first + size)]
            first += size
        return layout


@dataclass
class Run:
    """What one playbook run cost, seen from outside."""

    seconds: float
    cpu_seconds: float
    max_rss_mib: float
    modules: int
    kubefate_requests: int
    kubefate_requests_by_site: dict[str, int] = field(default_factory=dict)


def parse_row(text: str) -> Layout:
    """`N`, `N@S`, `N:L` or `N@S:L` (argparse type)."""
    match = ROW.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: expected N, N@S, N:L or N@S:L (envoys, sites, job latency)")
    layout = Layout(int(match[1]), int(match[2] or 1), float(match[3] or 0))
    if not 1 <= layout.sites <= layout.envoys:
        raise argparse.ArgumentTypeError(f"{text!r}: need 1 <= sites <= envoys")
    return layout


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """Host -> counters (ok, changed, unreachable, failed, ...) of the last PLAY RECAP in `output`."""
    _, found, recap = output.rpartition("PLAY RECAP")
    hosts: dict[str, dict[str, int]] = {}
    for line in recap.splitlines() if found else ():
        host, colon, counters = line.partition(" : ")
        if colon and "changed=" in counters:
            hosts[host.strip()] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
    return hosts


def noop_problem(recap: dict[str, dict[str, int]], hosts: list[str]) -> str | None:
    """Why a run is not a no-op over `hosts` (a host missing from the recap, or changed > 0), else None."""
    missing = [h for h in hosts if h not in recap]
    if missing:
        return f"no recap for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
    changed = {h: c["changed"] for h, c in recap.items() if c.get("changed")}
    return f"changed={sum(changed.values())} on {', '.join(sorted(changed))}" if changed else None


def count_invocations(counter_text: str) -> int:
    """Module processes: the wrapper writes one line per invocation."""
    return sum(1 for line in counter_text.splitlines() if line.strip())


def envoys_option(up_help: str) -> list[str]:
    """`--envoys emulated` if this sandbox CLI has the option (it will soon run real envoys by default)."""
    return ["--envoys", "emulated"] if re.search(r"--envoys\b", up_help) else []


def write_inventory(work: Path, layout: Layout) -> Path:
    """One group per site under `envoys` (openfl_site set per group); group_vars/envoys of the sandbox shared."""
    inventory = work / "inventories" / f"bench-{layout.envoys}"
    group_vars = inventory / "group_vars"
    group_vars.mkdir(parents=True)
    (group_vars / "envoys").symlink_to(ROOT / "inventories" / "sandbox" / "group_vars" / "envoys")
    (work / "files").symlink_to(ROOT / "files")
    groups = {}
    for site, envoys in layout.site_envoys().items():
        group = site.replace("-", "_")
        (group_vars / f"{group}.yml").write_text(yaml.safe_dump({"openfl_site": site}))
        groups[group] = {"hosts": dict.fromkeys(envoys)}
    hosts = {"all": {"children": {"envoys": {"children": groups}}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return inventory


def write_interpreter(work: Path) -> tuple[Path, Path]:
    """A python wrapper that logs each invocation (its script, or `stdin` when pipelined) and execs Python."""
    counter, wrapper = work / "modules.count", work / "python"
    wrapper.write_text(
        f'#!/bin/sh\necho "${{1:-stdin}}" >> {shlex.quote(str(counter))}\nexec {shlex.quote(sys.executable)} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, counter


def sandbox(state_dir: Path, action: str, *options: str) -> str:
    """Run `python -m sandbox <action>`; its stdout (exit with its stderr on failure)."""
    command = [sys.executable, "-m", "sandbox", action, "--state-dir", str(state_dir), *options]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"python -m sandbox {action} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout


def kubefate_requests(state_dir: Path) -> dict[str, int]:
    return json.loads(sandbox(state_dir, "stats"))["kubefate_requests"]["sites"]


def timed(command: list[str], log: Path) -> tuple[float, int, resource.struct_rusage]:
    """Run `command` (output to `log`); its wall time, exit code and the rusage of its whole waited-for tree."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    with log.open("w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return seconds, child.returncode, usage


@dataclass
class Bench:
    """One row's sandbox, inventory and counters, in a temporary directory."""

    work: Path
    layout: Layout

    def __post_init__(self) -> None:
        self.state_dir = self.work / ".sandbox"
        self.inventory = write_inventory(self.work, self.layout)
        self.interpreter, self.counter = write_interpreter(self.work)
        self.floor = self.work / "floor.yml"
        self.floor.write_text(FLOOR_PLAYBOOK)

    def run(self, playbook: Path) -> tuple[Run, dict[str, dict[str, int]]]:
        """Run a playbook; return its costs and its recap (exit on failure, with the output's tail)."""
        extra_vars = {"openfl_state_dir": str(self.state_dir), "ansible_python_interpreter": str(self.interpreter)}
        command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(self.inventory), str(playbook)]
        command += ["-e", json.dumps(extra_vars)]
        self.counter.write_text("")
        before = kubefate_requests(self.state_dir)
        log = self.work / f"{playbook.stem}.log"
        seconds, returncode, usage = timed(command, log)
        output = log.read_text()
        if returncode != 0:
            sys.stderr.write(output[-6000:])
            raise SystemExit(f"{playbook.name} failed over {self.layout} (exit {returncode})")
        requests = {site: n - before.get(site, 0) for site, n in kubefate_requests(self.state_dir).items()}
        run = Run(
            seconds=seconds,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            max_rss_mib=usage.ru_maxrss / 1024,
            modules=count_invocations(self.counter.read_text()),
            kubefate_requests=sum(requests.values()),
            kubefate_requests_by_site=requests,
        )
        return run, parse_recap(output)

    def measure(self, up_options: list[str]) -> dict[str, Run]:
        layout = self.layout
        sites = ",".join(layout.site_envoys())
        sandbox(self.state_dir, "up", "--fresh", "--sites", sites, "--job-latency", str(layout.latency), *up_options)
        try:
            cold, _ = self.run(ROOT / "site.yml")
            noop, recap = self.run(ROOT / "site.yml")
            floor, _ = self.run(self.floor)
        finally:
            sandbox(self.state_dir, "down")
        hosts = [h for envoys in layout.site_envoys().values() for h in envoys]
        problem = noop_problem(recap, hosts)
        if problem:
            raise SystemExit(f"the no-op re-run over {layout} was not a no-op: {problem}")
        if floor.modules != layout.envoys:
            raise SystemExit(f"the module counter saw {floor.modules} processes for {layout.envoys} pings (floor)")
        return {"cold": cold, "noop": noop, "floor": floor}


COLUMNS: list[tuple[str, Callable[[Layout, dict[str, Run]], str]]] = [
    ("envoys", lambda lay, r: str(lay.envoys)),
    ("sites", lambda lay, r: str(lay.sites)),
    ("latency (s)", lambda lay, r: f"{lay.latency:g}"),
    ("cold (s)", lambda lay, r: f"{r['cold'].seconds:.1f}"),
    ("no-op (s)", lambda lay, r: f"{r['noop'].seconds:.1f}"),
    ("floor (s)", lambda lay, r: f"{r['floor'].seconds:.1f}"),
    ("cold / floor", lambda lay, r: f"{r['cold'].seconds / r['floor'].seconds:.1f}"),
    ("no-op / floor", lambda lay, r: f"{r['noop'].seconds / r['floor'].seconds:.1f}"),
    ("CPU cold (s)", lambda lay, r: f"{r['cold'].cpu_seconds:.1f}"),
    ("CPU no-op (s)", lambda lay, r: f"{r['noop'].cpu_seconds:.1f}"),
    ("peak RSS (MiB)", lambda lay, r: f"{max(run.max_rss_mib for run in r.values()):.0f}"),
    ("modules / envoy no-op", lambda lay, r: f"{r['noop'].modules / lay.envoys:.1f}"),
    ("modules / envoy cold", lambda lay, r: f"{r['cold'].modules / lay.envoys:.1f}"),
    ("KubeFATE req / envoy no-op", lambda lay, r: f"{r['noop'].kubefate_requests / lay.envoys:.1f}"),
    ("KubeFATE req / envoy cold", lambda lay, r: f"{r['cold'].kubefate_requests / lay.envoys:.1f}"),
]


def markdown_row(cells: list[str], header: bool = False) -> str:
    line = "| " + " | ".join(cells) + " |"
    return line + "\n|" + "---:|" * len(cells) if header else line


def json_row(layout: Layout, runs: dict[str, Run]) -> dict:
    ratios = {f"{k}_over_floor": runs[k].seconds / runs["floor"].seconds for k in ("cold", "noop")}
    return {**asdict(layout), **ratios, **{k: asdict(run) for k, run in runs.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="*", type=parse_row, help=f"N[@S][:L] (default: {' '.join(DEFAULT_ROWS)})")
    parser.add_argument("--quick", action="store_true", help="one row: 10 envoys, one site, no latency")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file (after each row)")
    args = parser.parse_args(argv)
    if args.quick and args.rows:
        parser.error("--quick takes no rows")
    rows = [parse_row("10")] if args.quick else args.rows or [parse_row(r) for r in DEFAULT_ROWS]
    up_options = envoys_option(sandbox(Path(".sandbox"), "up", "--help"))  # --help exits before using the dir
    print(markdown_row([name for name, _ in COLUMNS], header=True), flush=True)
    results = []
    for layout in rows:
        with tempfile.TemporaryDirectory(prefix=f"bench-{layout.envoys}-") as tmp:
            runs = Bench(Path(tmp), layout).measure(up_options)
        print(markdown_row([cell(layout, runs) for _, cell in COLUMNS]), flush=True)
        results.append(json_row(layout, runs))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
