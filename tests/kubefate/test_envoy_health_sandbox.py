"""openfl.envoy.envoy_health on the sandbox, run by ansible-playbook: the site's own k8s and chart
playbooks, the envoy_cluster role's submit for two envoys, then one envoy_health task (run_once)
for both: one envoy healthy, one whose certificate CN differs from its name (its pod crash-loops).
Then the snapshot (wait=false) of both, as status.yml will read it."""

from __future__ import annotations

import json
import time

from k8s_roles_support import ROOT, make_envoy_cert

VARS_FILES = f"""  vars_files:
    - {ROOT}/playbooks/vars/connections.yml
    - {ROOT}/playbooks/vars/envoy.yml
"""
DESCRIBE = """\
    - name: Describe the envoy for the health check
      ansible.builtin.set_fact:
        health_envoy:
          name: "{{ inventory_hostname }}"
          namespace: "openfl-{{ inventory_hostname }}"
          job_uuid: "{{ (envoy_cluster_submit | default({})).job_uuid | default(none) }}"
          kubefate: "{{ openfl_kubefate_connection }}"
          kubernetes: "{{ openfl_k8s_connection }}"

    - name: Check every envoy at once
      openfl.envoy.envoy_health:
        envoys: "{{ ansible_play_hosts | map('extract', hostvars, 'health_envoy') | list }}"
        wait: "{{ health_wait }}"
        job_grace: 2
        health_timeout: 60
        interval: 1
      run_once: true
      register: health

    - name: Keep the verdicts for the test
      ansible.builtin.copy:
        content: "{{ health | to_nice_json }}"
        dest: "{{ health_file }}"
        mode: "0600"
      run_once: true
"""
ROLLOUT = f"""\
---
- name: Kubernetes objects
  ansible.builtin.import_playbook: {ROOT}/playbooks/k8s.yml

- name: Chart
  ansible.builtin.import_playbook: {ROOT}/playbooks/charts.yml

- name: Submit every envoy, then wait for all and check all in one task
  hosts: envoys
  gather_facts: false
{VARS_FILES}  module_defaults:
    group/openfl.envoy.kubefate: "{{{{ openfl_kubefate_connection }}}}"
  tasks:
    - name: Submit
      ansible.builtin.include_role:
        name: envoy_cluster
        tasks_from: submit

{DESCRIBE}"""
STATUS = f"""\
---
- name: Status of every envoy
  hosts: envoys
  gather_facts: false
{VARS_FILES}  tasks:
{DESCRIBE}"""


def test_envoy_health_for_two_envoys_in_one_task(make_kf_site, kf, tmp_path):
    site = make_kf_site(2)
    healthy, crashing = site.envoys
    make_envoy_cert(site.pki_dir, site.ca, crashing, cn="someone-else")
    result_file = tmp_path / "health.json"
    started = time.monotonic()
    run = site.run("-e", "health_wait=true", "-e", f"health_file={result_file}", playbook=ROLLOUT)
    elapsed = time.monotonic() - started
    assert run.rc == 0, run.output  # a verdict never fails the module
    assert kf.password not in run.output
    saved = result_file.read_text()
    assert kf.password not in saved
    verdicts = json.loads(saved)["envoys"]

    good = verdicts[healthy]
    assert good["failed"] is False and good["registered"] is True, good["msg"]
    assert good["msg"].startswith(f"{healthy} (namespace openfl-{healthy}): healthy: KubeFATE job ")
    assert good["job"]["status"] == "Success" and good["restarts"] == [0]
    assert any("Shard accepted" in line for line in good["log_excerpt"])

    bad = verdicts[crashing]
    assert bad["failed"] is True and bad["registered"] is False
    assert bad["msg"].startswith(f"{crashing}: the envoy container cannot run (CrashLoopBackOff) while KubeFATE job ")
    assert "helm install Success" in bad["msg"]  # the job's states
    assert "does not match shard name" in bad["msg"]  # the crashed envoy's own log line
    assert bad["containers"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert elapsed < 50, elapsed  # well before KubeFATE's 60 s limit for the crashing envoy's job

    status_file = tmp_path / "status.json"
    run = site.run("-e", "health_wait=false", "-e", f"health_file={status_file}", playbook=STATUS)
    assert run.rc == 0, run.output
    snapshot = json.loads(status_file.read_text())["envoys"]
    assert not snapshot[healthy]["failed"] and not snapshot[crashing]["failed"]  # nothing is judged
    assert snapshot[healthy]["cluster_status"] == "Running" and snapshot[healthy]["registered"] is True
    assert snapshot[healthy]["job"]["status"] == "Success"
    assert snapshot[crashing]["registered"] is False
    assert "the envoy container cannot run (CrashLoopBackOff)" in snapshot[crashing]["reasons"]
