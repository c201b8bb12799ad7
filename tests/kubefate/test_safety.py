"""Safe under kills and concurrent runs (issue 16), through site.yml on the session's sandbox:
a rollout killed at random points converges on re-run with no secret left in Ansible's temp dir,
no duplicate cluster and no key without its certificate; two runs at once: one proceeds, the
other stops naming it; an API that goes away ends the health wait at once, naming it."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import yaml
from kubefate_support import changed, finish, rollout

PASSPHRASE = "safety-test-ca-passphrase-7d1e"


def secrets_in(directory: Path, secrets: list[str]) -> list[str]:
    found = []
    for path in directory.rglob("*") if directory.exists() else []:
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            found += [f"{path}: {s[:12]}..." for s in secrets if s in text]
    return found


def key_matches_cert(pki: Path, envoy: str) -> bool:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((pki / "envoys" / envoy / "priv.key").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((pki / "envoys" / envoy / "envoy.crt").read_bytes())
    return key.public_key().public_numbers() == cert.public_key().public_numbers()


def safety_site(make_kf_site, n: int = 1):
    return make_kf_site(n, openfl_ca_passphrase=PASSPHRASE)


def test_killed_at_ten_random_points_converges(make_kf_site, kf, tmp_path):
    site = safety_site(make_kf_site)
    envoy = site.envoys[0]
    started = time.monotonic()
    rc, out = finish(rollout(site, tmp_path))
    assert rc == 0, out[-3000:]
    full = time.monotonic() - started
    rng = random.Random(16)
    for point in sorted(rng.uniform(0.5, full) for _ in range(10)):
        # A renewal each time, so that the kill can land in the middle of a key write and a cluster update.
        proc = rollout(site, tmp_path, "-e", "envoy_cert_force=true")
        time.sleep(point)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        key = (site.pki_dir / "envoys" / envoy / "priv.key").read_text()
        secrets = [PASSPHRASE, kf.password, *[line for line in key.splitlines() if line and "-----" not in line][:2]]
        assert secrets_in(tmp_path / "local", secrets) + secrets_in(tmp_path / "remote", secrets) == [], point
        rc, out = finish(rollout(site, tmp_path))
        assert rc == 0, f"re-run after a kill at {point:.1f}s failed:\n{out[-3000:]}"
        assert len(kf.clusters(envoy)) == 1, f"killed at {point:.1f}s"
        assert key_matches_cert(site.pki_dir, envoy), f"killed at {point:.1f}s"
        assert not list((site.pki_dir / "envoys" / envoy).glob("*.pending*"))
    rc, out = finish(rollout(site, tmp_path))
    assert rc == 0 and changed(out) == 0, out[-3000:]


def test_two_runs_at_once_one_proceeds_the_other_stops_naming_it(make_kf_site, kf, tmp_path):
    site = safety_site(make_kf_site, 2)
    kf.configure(job_latency=8.0)  # the first run holds the lock while it waits for its installs
    first = rollout(site, tmp_path)
    lock, deadline = site.pki_dir / ".rollout.lock", time.monotonic() + 120
    while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    second_rc, second = finish(rollout(site, tmp_path))
    first_rc, first_out = finish(first)
    assert first_rc == 0, first_out[-3000:]
    assert second_rc != 0
    assert "another rollout holds" in second and f"pid {first.pid}" in second
    third_rc, third = finish(rollout(site, tmp_path))
    assert third_rc == 0 and changed(third) == 0, third[-3000:]


def test_api_down_during_health_fails_at_once_naming_it(make_kf_site, kf, tmp_path):
    site = safety_site(make_kf_site)
    rc, out = finish(rollout(site, tmp_path))
    assert rc == 0, out[-3000:]
    config = yaml.safe_load(Path(site.kubeconfig).read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "http://127.0.0.1:9"  # nothing listens there
    down = tmp_path / "kubeconfig-down"
    down.write_text(yaml.safe_dump(config))
    site.kubeconfig = str(down)
    started = time.monotonic()
    rc, out = finish(rollout(site, tmp_path, "--tags", "health"))
    elapsed = time.monotonic() - started
    assert rc != 0
    assert "the Kubernetes API at http://127.0.0.1:9" in out, out[-3000:]
    assert elapsed < 10, elapsed
