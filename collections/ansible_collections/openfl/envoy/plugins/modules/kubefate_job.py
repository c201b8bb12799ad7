#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubefate_job
short_description: Read a KubeFATE job, or wait until it ends
version_added: 0.1.0
description:
  - Reads C(GET /v1/job/{uuid}); with O(wait=true) polls it until the job ends.
  - Succeeds when the job ends C(Success). Fails when it ends C(Failed), C(Canceled), C(Rollback) or C(Timeout),
    or is still running at the deadline, with the job's C(states) (KubeFATE's own event texts) in the message.
  - KubeFATE's own limit is one hour and a job can stay C(Running) forever, so O(timeout) is always applied.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openfl.envoy.kubefate
options:
  uuid:
    description:
      - The job uuid (as returned by M(openfl.envoy.kubefate_cluster)).
    type: str
    required: true
  wait:
    description:
      - Poll until the job ends. With V(false), return the job as it is now and never fail on its status.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait at most with O(wait=true).
    type: int
    default: 600
  wait_interval:
    description:
      - Longest pause in seconds between two polls (1 to 60); polling starts at half a second and grows up to this.
    type: float
    default: 5
  name:
    description:
      - A label for messages only (for example the envoy name), so a failure names what failed.
    type: str
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Wait for the envoy's install job
  openfl.envoy.kubefate_job:
    uuid: "{{ envoy_cluster.job_uuid }}"
    name: "{{ inventory_hostname }}"
    wait_timeout: 900

- name: Look at a job without waiting
  openfl.envoy.kubefate_job:
    uuid: 0b5ac2c4-7bb8-4f0a-8a2b-3c4f0a1e7d11
    wait: false
  register: job
"""

RETURN = r"""
job:
  description: The job as KubeFATE returns it, without C(meta_data) (which carries the whole cluster config).
  returned: success, and on failure once the job was read
  type: dict
  sample: {uuid: 0b5ac2c4-7bb8-4f0a-8a2b-3c4f0a1e7d11, method: ClusterInstall, status: Success}
status:
  description: The job status.
  returned: success, and on failure once the job was read
  type: str
  sample: Success
states:
  description: KubeFATE's event texts for the job.
  returned: success, and on failure once the job was read
  type: list
  elements: str
  sample: [update job status to Running, create Cluster in DB Success, helm install Success, job run Success]
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
"""

import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KubefateClient,
    KubefateError,
    KubefateJobError,
    job_summary,
    kubefate_argument_spec,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService


def _result(job: dict[str, Any] | None, started: float) -> dict[str, Any]:
    summary = job_summary(job) or {}
    return {
        "changed": False,
        "job": summary or None,
        "status": summary.get("status"),
        "states": list(summary.get("states") or []),
        "elapsed": round(time.monotonic() - started, 3),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=kubefate_argument_spec(
            uuid={"type": "str", "required": True},
            wait={"type": "bool", "default": True},
            wait_timeout={"type": "int", "default": 600},
            wait_interval={"type": "float", "default": 5.0},
            name={"type": "str"},
        ),
        supports_check_mode=True,
    )
    params = module.params
    label = f"{params['name']}: " if params["name"] else ""
    if not 1 <= params["wait_interval"] <= 60:
        module.fail_json(msg=f"{label}wait_interval {params['wait_interval']} must be between 1 and 60 seconds")
    service = KubefateService(KubefateClient.from_params(params))
    started = time.monotonic()
    try:
        if params["wait"]:
            job = service.wait_job(params["uuid"], params["wait_timeout"], params["wait_interval"])
        else:
            job = service.get_job(params["uuid"])
    except KubefateJobError as err:
        module.fail_json(msg=f"{label}{err.msg}", **_result(err.job, started))
    except KubefateError as err:
        module.fail_json(msg=f"{label}job {params['uuid']}: {err.msg}", elapsed=round(time.monotonic() - started, 3))
    module.exit_json(**_result(job, started))


if __name__ == "__main__":
    main()
