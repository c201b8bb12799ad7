"""`python -m sandbox up|down|status|stats`: run the sandbox test doubles in a detached background process.

The sandbox keeps its state across `down` and `up` (in <state-dir>/state/), as a cluster that is
stopped and started: `down --purge` (or `up --fresh`) forgets it. `stats` prints the counters since
`up` as JSON (KubeFATE requests per site and in total): SIGUSR1 makes the background process write
them to <state-dir>/stats.json.

Envoys are real by default: a real OpenFL director and each envoy pod's container command run as
local processes from the OpenFL virtualenv (`make openfl-venv`); `--envoys emulated` writes the
log lines instead (the benchmark, large N).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OPENFL_VERSIONS = ("1.5", "1.6", "1.7")  # kube/envoy.py's OPENFL_LINES (not imported: `up` stays light)
START_TIMEOUT = 10.0
STOP_TIMEOUT = 20.0  # a graceful stop lets job workers finish their step and saves the state
RUNTIME_FILES = ("sandbox.pid", "kubeconfig", "kubeconfig-viewer", "kubefate.yml", "director.yml", "stats.json")
RUN_DIR = "run"  # <state-dir>/run/: pod root dirs and the director's workspace (removed by down)
SAVED_STATE = "state"  # <state-dir>/state/<site>.json, written by a graceful stop (see core.py)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = ("up", "down", "status", "stats", "serve")
    parser.add_argument("command", choices=commands, help="stats: counters as JSON; serve: run in the foreground")
    parser.add_argument("--state-dir", default=".sandbox", type=Path, help="where the kubeconfig etc. go (.sandbox)")
    parser.add_argument("--sites", default="sandbox", help="comma-separated site names (default: sandbox)")
    parser.add_argument("--job-latency", type=float, default=0.0, help="extra seconds per KubeFATE job")
    parser.add_argument("--token-ttl", type=float, default=1800.0, help="KubeFATE token lifetime in seconds")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of KubeFATE requests that fail")
    parser.add_argument("--job-time-limit", type=float, default=60.0, help="KubeFATE job time limit in seconds")
    parser.add_argument("--purge", action="store_true", help="down: also delete the saved state (next up is empty)")
    parser.add_argument("--fresh", action="store_true", help="up: delete the saved state first (start empty)")
    parser.add_argument(
        "--envoys", choices=("real", "emulated"), default="real",
        help="real: OpenFL director + envoy processes (default); emulated: envoy log lines only",
    )  # fmt: skip
    parser.add_argument(
        "--openfl-version", choices=OPENFL_VERSIONS,
        help="emulated envoys log this OpenFL release's wording (default 1.5); real ones run --openfl-venv's",
    )  # fmt: skip
    parser.add_argument(
        "--openfl-venv", type=Path, default=ROOT / ".venv-openfl", help="the OpenFL virtualenv (.venv-openfl)"
    )
    parser.add_argument(
        "--director-cert-dir", type=Path, default=ROOT / "pki" / "sandbox" / "director",
        help="where the pki stage writes the director certificate (pki/sandbox/director)",
    )  # fmt: skip
    return parser.parse_args(argv)


def running_pid(state_dir: Path) -> int | None:
    """The pid of this state dir's sandbox process, if it still runs."""
    try:
        pid = int((state_dir / "sandbox.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"sandbox" in cmdline else None


def remove_runtime_files(state_dir: Path) -> None:
    for name in RUNTIME_FILES:
        (state_dir / name).unlink(missing_ok=True)


def kill_leftover_processes(state_dir: Path) -> int:
    """Kill the process groups of envoys/director a killed server left behind; remove <state-dir>/run/."""
    killed = 0
    run_dir = state_dir / RUN_DIR
    for pid_file in run_dir.glob("**/pid") if run_dir.is_dir() else []:
        try:
            os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)
            killed += 1
        except (OSError, ValueError):
            pass
    shutil.rmtree(run_dir, ignore_errors=True)
    return killed


def purge_saved_state(state_dir: Path) -> bool:
    """Delete the state a graceful stop saved; True if there was one."""
    saved = state_dir / SAVED_STATE
    if not saved.exists():
        return False
    shutil.rmtree(saved)
    return True


def up(args: argparse.Namespace) -> int:
    state_dir = args.state_dir.resolve()
    pid = running_pid(state_dir)
    if pid is not None:
        print(f"sandbox already running (pid {pid}, state dir {state_dir})")
        return 0
    if args.envoys == "real" and not (args.openfl_venv / "bin" / "fx").is_file():
        print(
            f"real OpenFL envoys need the OpenFL virtualenv {args.openfl_venv} (with bin/fx): "
            "run `make openfl-venv`, or use --envoys emulated",
            file=sys.stderr,
        )
        return 1
    if args.envoys == "real" and args.openfl_version:
        print(
            f"--openfl-version {args.openfl_version} is for --envoys emulated: real envoys run the OpenFL of "
            f"--openfl-venv ({args.openfl_venv}; e.g. --openfl-venv .venv-openfl-1.6 for 1.6)",
            file=sys.stderr,
        )
        return 1
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    remove_runtime_files(state_dir)
    kill_leftover_processes(state_dir)
    if args.fresh and purge_saved_state(state_dir):
        print(f"saved state deleted ({state_dir / SAVED_STATE})")
    restoring = (state_dir / SAVED_STATE).is_dir() and any((state_dir / SAVED_STATE).glob("*.json"))
    started = time.monotonic()
    command = [sys.executable, "-m", "sandbox", "serve", "--state-dir", str(state_dir), "--sites", args.sites,
               "--job-latency", str(args.job_latency), "--token-ttl", str(args.token_ttl),
               "--fault-rate", str(args.fault_rate), "--job-time-limit", str(args.job_time_limit),
               "--envoys", args.envoys, "--openfl-venv", str(args.openfl_venv.resolve()),
               "--director-cert-dir", str(args.director_cert_dir.resolve())]  # fmt: skip
    command += ["--openfl-version", args.openfl_version] if args.openfl_version else []
    descriptor = os.open(state_dir / "sandbox.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "ab") as log:
        child = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    while running_pid(state_dir) != child.pid:
        if child.poll() is not None or time.monotonic() - started > START_TIMEOUT:
            if child.poll() is None:
                child.kill()
            print(f"sandbox failed to start; see {state_dir / 'sandbox.log'}", file=sys.stderr)
            return 1
        time.sleep(0.02)
    wait_until_answering(state_dir)
    origin = "saved state restored" if restoring else "empty"
    print(f"sandbox up in {time.monotonic() - started:.2f}s (pid {child.pid}, {origin})")
    print_sites(state_dir)
    return 0


def wait_until_answering(state_dir: Path) -> None:
    for url in service_urls(state_dir):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # an HTTP answer of any status means the server is serving
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)


def service_urls(state_dir: Path) -> list[str]:
    kubeconfig = yaml.safe_load((state_dir / "kubeconfig").read_text())
    kubefate = yaml.safe_load((state_dir / "kubefate.yml").read_text())["sites"]
    urls = [c["cluster"]["server"] + "/healthz" for c in kubeconfig["clusters"]]
    return urls + [s["url"] for s in kubefate.values() if s.get("url")]


def print_sites(state_dir: Path) -> None:
    kubeconfig = yaml.safe_load((state_dir / "kubeconfig").read_text())
    kubefate = yaml.safe_load((state_dir / "kubefate.yml").read_text())["sites"]
    for cluster in kubeconfig["clusters"]:
        name = cluster["name"]
        print(
            f"  site {name}: kubernetes {cluster['cluster']['server']}, kubefate {kubefate[name].get('url', '(none)')}"
        )
    print(f"  kubeconfig: {state_dir / 'kubeconfig'}")
    print(f"  kubefate:   {state_dir / 'kubefate.yml'}")
    print_director(state_dir)


def print_director(state_dir: Path) -> None:
    try:
        info = yaml.safe_load((state_dir / "director.yml").read_text()) or {}
    except OSError:
        return
    if info.get("envoys") == "emulated":
        print("  envoys:     emulated (log lines written by the sandbox; no OpenFL runs, no director)")
        return
    print("  envoys:     real (OpenFL envoy processes, the pods' own container command)")
    if info.get("running"):
        state = "listening" if info.get("listening") else "starting"
        where = f"127.0.0.1:{info['port']}, pid {info['pid']}, {state}"
    else:
        where = f"not running: waiting for {info.get('cert_dir')}/{{director.crt,priv.key,root_ca.crt}}"
    print(f"  director:   real OpenFL director ({where}); log {info.get('log')}")
    shards = info.get("accepted_shards") or []
    print(f"  accepted shards ({len(shards)}): {', '.join(shards) or '(none)'}")


def down(args: argparse.Namespace) -> int:
    state_dir = args.state_dir.resolve()
    pid = running_pid(state_dir)
    if pid is None:
        remove_runtime_files(state_dir)
        print("sandbox not running")
    else:
        os.kill(pid, signal.SIGTERM)  # the serve process saves the state, then exits
        deadline = time.monotonic() + STOP_TIMEOUT
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
            print(f"sandbox did not stop in {STOP_TIMEOUT:.0f}s: killed, its state was not saved", file=sys.stderr)
        remove_runtime_files(state_dir)
        print(f"sandbox stopped (pid {pid})")
    leftovers = kill_leftover_processes(state_dir)
    if leftovers:
        print(f"killed {leftovers} leftover process group(s) of envoys/director", file=sys.stderr)
    if args.purge and purge_saved_state(state_dir):
        print(f"saved state deleted ({state_dir / SAVED_STATE})")
    return 0


def status(args: argparse.Namespace) -> int:
    state_dir = args.state_dir.resolve()
    pid = running_pid(state_dir)
    if pid is None:
        print("sandbox not running")
        return 1
    print(f"sandbox running (pid {pid}, state dir {state_dir})")
    print_sites(state_dir)
    return 0


def stats(args: argparse.Namespace) -> int:
    """Ask the background process for its counters (SIGUSR1: it writes stats.json) and print them."""
    state_dir = args.state_dir.resolve()
    pid = running_pid(state_dir)
    if pid is None:
        print("sandbox not running", file=sys.stderr)
        return 1
    path = state_dir / "stats.json"
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + START_TIMEOUT
    while not path.exists():
        if time.monotonic() > deadline:
            print(f"sandbox (pid {pid}) wrote no {path.name}; see {state_dir / 'sandbox.log'}", file=sys.stderr)
            return 1
        time.sleep(0.01)
    print(path.read_text())
    return 0


def serve(args: argparse.Namespace) -> int:
    """Foreground: start the sandbox, record the pid last (it signals readiness), stop on SIGTERM/SIGINT."""
    # Imported here so that `up`, `down` and `status` stay light: only the server process needs them.
    from .core import Sandbox, write_private

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state_dir = args.state_dir.resolve()
    sites = [s.strip() for s in args.sites.split(",") if s.strip()]
    sandbox = Sandbox(
        state_dir, sites, args.job_latency, args.token_ttl, args.fault_rate, args.job_time_limit, persist=True,
        envoys=args.envoys, openfl_venv=args.openfl_venv, director_cert_dir=args.director_cert_dir,
        openfl_version=args.openfl_version,
    )  # fmt: skip
    with sandbox:
        signal.signal(signal.SIGUSR1, lambda *_: write_private(state_dir / "stats.json", json.dumps(sandbox.stats())))
        write_private(state_dir / "sandbox.pid", f"{os.getpid()}\n")
        stop.wait()
    remove_runtime_files(state_dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return {"up": up, "down": down, "status": status, "stats": stats, "serve": serve}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
