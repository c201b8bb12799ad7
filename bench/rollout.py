"""Rollout benchmark on the sandbox.

For each N (default 10 and 50) it starts a fresh sandbox, generates an
inventory of N envoys that reuses the sandbox settings, and measures in one
run, one after the other on the same machine:

- cold: the whole `site.yml` rollout from nothing (CA, certificates,
  Kubernetes objects, chart upload, KubeFATE installs, health checks);
- no-op: `site.yml` again, which must report changed=0;
- floor: a playbook with one no-op module task (`ansible.builtin.ping`) per
  host over the same inventory: what Ansible itself costs for N hosts.

It prints a Markdown table with the times and the ratios to the floor.
Machines here are noisy: compare ratios from one run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
FLOOR_PLAYBOOK = """\
- name: Floor | one no-op module task per host
  hosts: envoys
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def write_inventory(work: Path, envoys: int) -> Path:
    """An inventory of N envoys laid out like inventories/sandbox, sharing its settings."""
    inventory = work / "inventories" / f"bench-{envoys}"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "group_vars" / "envoys").symlink_to(ROOT / "inventories" / "sandbox" / "group_vars" / "envoys")
    (work / "files").symlink_to(ROOT / "files")
    hosts = "".join(f"            envoy-{i}:\n" for i in range(1, envoys + 1))
    (inventory / "hosts.yml").write_text(
        f"all:\n  children:\n    envoys:\n      children:\n        sandbox:\n          hosts:\n{hosts}"
    )
    return inventory


def playbook(inventory: Path, path: Path, state_dir: Path) -> tuple[float, int]:
    """Run a playbook; return its wall time and the total `changed` of the recap."""
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(inventory),
        str(path),
        "-e",
        f"openfl_state_dir={state_dir}",
    ]
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-2000:])
        raise SystemExit(f"{path.name} failed for {inventory.name} (exit {result.returncode})")
    return elapsed, sum(int(m.group(3)) for m in RECAP.finditer(result.stdout))


def sandbox(state_dir: Path, action: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "sandbox", action, "--state-dir", str(state_dir)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def measure(envoys: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{envoys}-") as tmp:
        work = Path(tmp)
        inventory = write_inventory(work, envoys)
        state_dir = work / ".sandbox"
        floor = work / "floor.yml"
        floor.write_text(FLOOR_PLAYBOOK)
        sandbox(state_dir, "up")
        try:
            cold, _ = playbook(inventory, ROOT / "site.yml", state_dir)
            noop, changed = playbook(inventory, ROOT / "site.yml", state_dir)
            floor_time, _ = playbook(inventory, floor, state_dir)
        finally:
            sandbox(state_dir, "down")
    if changed:
        raise SystemExit(f"the no-op re-run over {envoys} envoys reported changed={changed}")
    return {"cold": cold, "noop": noop, "floor": floor_time}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("envoys", nargs="*", type=int, default=[10, 50], help="envoy counts (default: 10 50)")
    args = parser.parse_args()
    print("| envoys | cold rollout (s) | no-op re-run (s) | floor (s) | cold / floor | no-op / floor |")
    print("|---:|---:|---:|---:|---:|---:|", flush=True)
    for n in args.envoys:
        t = measure(n)
        print(
            f"| {n} | {t['cold']:.1f} | {t['noop']:.1f} | {t['floor']:.1f} "
            f"| {t['cold'] / t['floor']:.1f} | {t['noop'] / t['floor']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
