#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_lock
short_description: One rollout at a time - a lock file owned by the running ansible-playbook
version_added: 0.2.0
description:
  - With O(state=present), takes the lock at O(path) for the C(ansible-playbook) process that runs the play, before
    the rollout changes anything; with O(state=absent), releases it when that process holds it.
  - While another live run holds the lock, waits up to O(wait) seconds, then fails naming that run (its pid, host
    and start) and the way out.
  - A lock whose owner is gone (killed, crashed, or failed before releasing it) is stale; it is taken over with a
    warning naming the old run.
  - Runs on the controller and never reports a change (the lock is the run's own bookkeeping); check mode takes
    no lock.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openfl.envoy.attributes
options:
  path:
    description: The lock file, for example in the inventory's PKI directory.
    type: path
    required: true
  state:
    description: V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Seconds to wait for a live owner to finish before failing.
    type: float
    default: 0
"""

EXAMPLES = r"""
- name: Take the run lock
  openfl.envoy.run_lock:
    path: "{{ openfl_pki_root }}/.rollout.lock"
    wait: 300
  run_once: true
"""

RETURN = r"""
state:
  description: V(taken), V(held) (already this run's) or V(taken_over) (from a stale owner).
  returned: with state=present
  type: str
released:
  description: Whether this run held the lock and released it.
  returned: with state=absent
  type: bool
"""
