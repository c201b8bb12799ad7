#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_result
short_description: Report one envoy's part of a step that ran once for all envoys
version_added: 0.2.0
description:
  - Steps that are the same for every envoy of a site (one login, one listing, one connection) run once per play
    with C(run_once) and return one entry per envoy under C(envoys). This action turns the entry of the current
    host into its own task result, so that every envoy reports its own C(changed), failure, message, warnings
    and diff, and C(--limit), C(serial) and check mode work as for per-host tasks.
  - When the shared step failed as a whole, every envoy fails with the shared step's message.
  - Several checks of the same envoys (for example its inputs and its site) report as one task, failed when any
    of them failed, with all their messages.
  - Runs on the controller; it starts no module process.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
options:
  batch:
    description:
      - The name of the variable the shared step registered (not its value), or a list of such names.
      - A skipped shared step is left out; when all are skipped, so is this task.
    type: list
    elements: str
    required: true
  part:
    description:
      - The key of the envoy's entry to report, when the shared step returns several results per envoy (for
        example its Secret and its ConfigMap, each reported by a task of its own).
      - Unset, the whole entry is reported.
    type: str
"""

EXAMPLES = r"""
- name: Apply every envoy's Kubernetes objects (one connection per cluster)
  openfl.envoy.envoy_objects:
    envoys: "{{ ansible_play_batch | map('extract', hostvars, 'envoy_k8s_entry') | list }}"
  run_once: true
  register: envoy_k8s_batch

- name: Report the envoy's python configmap
  openfl.envoy.envoy_result:
    batch: envoy_k8s_batch
    part: configmap
"""

RETURN = r"""
msg:
  description: The envoy's message (why it failed, or what was done).
  returned: when the entry has one
  type: str
"""
