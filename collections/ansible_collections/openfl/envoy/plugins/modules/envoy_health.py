#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_health
short_description: Wait for many envoys' KubeFATE jobs and check each envoy runs and registered
version_added: 0.2.0
description:
  - For every envoy in O(envoys), in one loop of one process, polls its KubeFATE job
    (C(GET /v1/job/{uuid})) until KubeFATE ends it, then checks the envoy itself, and returns a verdict per
    envoy with its reasons.
  - A job counts as ended when KubeFATE says so. A C(Failed) job counts only once its C(end_time) is set
    (a failed update shows C(Failed) shortly before C(Rollback)), or after a settle period of 10 seconds when
    KubeFATE never sets it (a failed helm install).
  - After O(job_grace) seconds of a running job the envoy pod's C(envoy) container is watched as well
    (pods with label C(openfl=envoy)); a waiting reason in O(fatal_reasons) ends that envoy's wait at once,
    with its state and the log of the crashed instance.
  - Then, within O(health_timeout) seconds, the C(envoy) container must be ready, its log must show one of
    O(markers) and no line matching O(error_patterns) (lines matching O(ignore_patterns) do not count), and
    Deployment C(envoy) must have the condition C(Available=True). A container that cannot run or an error
    line ends the wait at once; at the deadline the verdict names what was missing.
  - A log line that says the director did not accept the shard (C(Report shard info was not accepted)) or
    that the envoy could not report it (C(Failed to report shard info); both OpenFL 1.5, 1.6 and 1.7 wording,
    also in the log of a crashed instance) ends the wait at once; the verdict's reason names it and quotes
    the line.
  - A transport error (connection refused, DNS, time-out), a TLS failure or refused credentials of
    KubeFATE or of the Kubernetes API ends the wait of every envoy behind that endpoint at once, with a message
    naming the endpoint. KubeFATE requests are retried once, Kubernetes requests once.
  - One KubeFATE client (one login) per distinct url, Host header and username, and one Kubernetes client
    per kubeconfig and context, for the whole run.
  - With O(wait=false), reads each envoy once instead (KubeFATE cluster status and latest job, listed once per
    KubeFATE endpoint; container states; whether the log holds a marker) and judges nothing.
  - The module never fails for an envoy's verdict; it fails only for bad options. Each envoy's entry in
    RV(envoys) says whether that envoy failed.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
options:
  envoys:
    description:
      - The envoys to check, each with its own connections.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The envoy's name (KubeFATE cluster name, shard name); the key of its entry in RV(envoys).
        type: str
        required: true
      namespace:
        description:
          - The envoy's namespace (KubeFATE cluster namespace).
        type: str
        required: true
      job_uuid:
        description:
          - The KubeFATE job to wait for (as returned by M(openfl.envoy.kubefate_cluster)).
          - Null when there is no job to wait for; then only the envoy itself is checked.
          - Not used with O(wait=false), which reads the cluster's latest job.
        type: str
      skip:
        description:
          - Nothing to check (for example check mode predicted a change that did not happen); the entry
            says RV(envoys.name.skipped=true).
        type: bool
        default: false
      kubefate:
        description:
          - The KubeFATE connection (the options of the connection family of the C(openfl.envoy.kubefate_*)
            modules). Required when O(envoys[].job_uuid) is set or with O(wait=false).
        type: dict
        suboptions:
          url:
            description:
              - Base URL of the KubeFATE service, scheme included, without the C(/v1) API prefix.
            type: str
            required: true
          username:
            description:
              - KubeFATE user.
            type: str
            required: true
          password:
            description:
              - Password of O(envoys[].kubefate.username). Never returned or logged.
            type: str
            required: true
          validate_certs:
            description:
              - Verify the TLS certificate of an C(https) URL.
            type: bool
            default: true
          ca_path:
            description:
              - PEM file of the CA that signed the service's certificate.
            type: path
          host_header:
            description:
              - Value of the HTTP C(Host) header (an ingress reached by IP address).
            type: str
          timeout:
            description:
              - Seconds each single HTTP request may take.
            type: int
            default: 30
      kubernetes:
        description:
          - The Kubernetes connection.
        type: dict
        suboptions:
          kubeconfig:
            description:
              - Path of the kubeconfig; the kubernetes client's default (C(KUBECONFIG), C(~/.kube/config)) when
                not set.
            type: path
          context:
            description:
              - The kubeconfig context; its current context when not set.
            type: str
      certificate_path:
        description:
          - The envoy's certificate on the control node; with O(wait=false) its expiry is returned.
        type: path
  jobs:
    description:
      - The per-envoy results of the submit step (M(openfl.envoy.envoy_clusters)), by envoy name - C(job_uuid) and
        C(changed). An envoy without its own O(envoys[].job_uuid) waits for the job it was handed; in check mode an
        envoy whose submit predicted a change is skipped.
    type: dict
    default: {}
  wait:
    description:
      - Wait for the jobs and judge each envoy (V(true)), or read each envoy once without waiting or judging
        (V(false)).
    type: bool
    default: true
  job_timeout:
    description:
      - Seconds to wait at most for each envoy's job (KubeFATE's own limit is one hour, and a job can stay
        C(Running) forever).
    type: int
    default: 900
  job_grace:
    description:
      - Seconds of a running job after which the envoy container is watched as well.
    type: int
    default: 10
  health_timeout:
    description:
      - Seconds, from the job's success, within which the envoy must be ready, registered and Available.
    type: int
    default: 300
  interval:
    description:
      - Longest pause in seconds between two polling rounds (more than 0, at most 60); rounds start half a
        second apart and the pause grows up to this.
    type: float
    default: 3
  excerpt_lines:
    description:
      - How many of the envoy's last log lines a verdict carries.
    type: int
    default: 20
  markers:
    description:
      - Log texts that say the director accepted the envoy's shard; any one of them counts.
      - The defaults are OpenFL 1.5's wording and 1.6's (which 1.7 keeps).
    type: list
    elements: str
    default: [Shard accepted, Shard was accepted by director]
  error_patterns:
    description:
      - Regular expressions (Python, searched in each log line) of error lines that end the wait at once.
    type: list
    elements: str
    default:
      - Report shard info was not accepted
      - Failed to report shard info
      - 'Traceback \(most recent call last\)'
      - '\bCRITICAL\b'
      - '\bERROR\b'
      - '^Error: '
      - '\w+(Error|Exception): '
      - '\[Errno'
      - does not exist
  ignore_patterns:
    description:
      - Regular expressions of error-looking lines that are harmless (the chart's C(pip install) without a
        C(requirements.txt)).
    type: list
    elements: str
    default: [Could not open requirements file, "pip's dependency resolver", 'WARNING: ']
  fatal_reasons:
    description:
      - Waiting reasons of the C(envoy) container that mean it cannot run.
    type: list
    elements: str
    default:
      - CrashLoopBackOff
      - ImagePullBackOff
      - ErrImagePull
      - InvalidImageName
      - CreateContainerConfigError
      - CreateContainerError
      - RunContainerError
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
requirements:
  - kubernetes (the Python client)
notes:
  - Meant to run once per play (C(run_once)) for all envoys of the play.
  - The job uuids come from M(openfl.envoy.kubefate_cluster).
"""

EXAMPLES = r"""
- name: Wait for every envoy's job and check every envoy, once for the play
  openfl.envoy.envoy_health:
    # each host's item: name, namespace, job_uuid, kubefate, kubernetes
    envoys: "{{ ansible_play_hosts | map('extract', hostvars, 'envoy_health_item') | list }}"
  run_once: true
  register: health

- name: Two envoys on one KubeFATE service
  openfl.envoy.envoy_health:
    envoys:
      - name: envoy-1
        namespace: openfl-envoy-1
        job_uuid: 0b5ac2c4-7bb8-4f0a-8a2b-3c4f0a1e7d11
        kubefate: &kubefate
          url: https://kubefate.site-a.example.org
          username: admin
          password: "{{ vault_openfl_kubefate_password_site_a }}"
        kubernetes: &kubernetes
          kubeconfig: ~/.kube/config
          context: site-a-admin
      - name: envoy-2
        namespace: openfl-envoy-2
        job_uuid: null
        kubefate: *kubefate
        kubernetes: *kubernetes
    health_timeout: 120
    markers: [Shard was accepted by director]
  register: health

- name: Status of the envoys without waiting
  openfl.envoy.envoy_health:
    envoys: "{{ envoy_list }}"
    wait: false
  register: status
"""

RETURN = r"""
envoys:
  description: The verdict per envoy, by envoy name.
  returned: always
  type: dict
  contains:
    name:
      description: One envoy's verdict (the key is the envoy's name).
      type: dict
      contains:
        failed:
          description:
            - With O(wait=true), whether the envoy is not healthy (its job failed, its container cannot run,
              an error line, a deadline, an endpoint that cannot be used).
            - With O(wait=false), only whether its state could not be read.
          type: bool
          sample: false
        skipped:
          description: Whether the envoy was not checked (O(envoys[].skip)).
          type: bool
          sample: false
        msg:
          description:
            - The verdict in one line, starting with the envoy's name. A failure ends with the envoy pod's
              container states, restarts and last log lines.
          type: str
          sample: >-
            envoy-1 (namespace openfl-envoy-1): healthy: KubeFATE job 0b5ac2c4-7bb8-4f0a-8a2b-3c4f0a1e7d11
            Success; the envoy container is ready; "Shard accepted" in the envoy log; Deployment envoy is Available
        reasons:
          description:
            - Why. For a failure its reason (and what could not be read for the report); for a healthy envoy the
              checks it passed; with O(wait=false) what is wrong with the envoy now.
          type: list
          elements: str
          sample: ['error in the envoy log: [11/20/26 10:00:01] ERROR    Failed to report shard info']
        registered:
          description: Whether the envoy's log holds one of O(markers).
          type: bool
          sample: true
        job:
          description:
            - The envoy's KubeFATE job as last read, without C(meta_data) (null when there was none).
            - With O(wait=false), the cluster's latest job.
          type: dict
          sample: {uuid: 0b5ac2c4-7bb8-4f0a-8a2b-3c4f0a1e7d11, method: ClusterInstall, status: Success}
        cluster_status:
          description: The KubeFATE cluster's status with O(wait=false) (null when there is no cluster, and always
            with O(wait=true)).
          type: str
          sample: Running
        containers:
          description: The C(envoy) container of each envoy pod, oldest pod first, as last read.
          type: list
          elements: dict
          contains:
            pod:
              description: The pod's name.
              type: str
            ready:
              description: Whether the container is ready.
              type: bool
            state:
              description: The container's state as Kubernetes reports it.
              type: dict
              sample: {waiting: {reason: CrashLoopBackOff}}
        restarts:
          description: The restart count of each of RV(envoys.name.containers).
          type: list
          elements: int
          sample: [0]
        log_excerpt:
          description: The envoy's last log lines (at most O(excerpt_lines); of the crashed instance after a failure
            of a restarted container).
          type: list
          elements: str
        certificate_expires:
          description: When the envoy's certificate expires (C(YYYY-MM-DD HH:MM UTC)); null when it is missing or
            O(wait=true).
          type: str
elapsed:
  description: Seconds the whole check took.
  returned: always
  type: float
  sample: 12.4
"""

from ansible_collections.openfl.envoy.plugins.module_utils.envoy_health_module import argument_spec, run
from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), run)


if __name__ == "__main__":
    main()
