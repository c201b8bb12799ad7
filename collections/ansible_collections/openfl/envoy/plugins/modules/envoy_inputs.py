#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_inputs
short_description: Validate the inputs of every envoy of a rollout before anything changes
version_added: 0.2.0
description:
  - Checks the whole input set of every envoy given, in one process, with the rules of M(openfl.envoy.envoy_preflight)
    (name, namespace, python directory, envoy config, director settings, image settings, the CN of a certificate
    issued earlier), and adds an error for every namespace that two envoys claim on one cluster.
  - Each error names the envoy, the inventory variable or file, and the rule. Every error of every envoy is returned
    at once.
  - With O(any_errors_fatal=true) one bad envoy stops every envoy; the good ones fail with a message naming the bad
    ones, so nothing is half-applied.
  - Meant to run once per play (C(run_once)), followed by M(openfl.envoy.envoy_result) per envoy. Read-only.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  envoys:
    description:
      - The envoys' inputs, as M(openfl.envoy.envoy_preflight) takes them, plus the cluster they go to.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The envoy name.
        type: str
        required: true
      cluster:
        description: Which Kubernetes cluster the envoy's namespace lives on (two envoys may not share one there).
        type: str
        default: ''
      namespace:
        description: The envoy's namespace.
        type: str
      python_dir:
        description: The envoy's python directory.
        type: path
      envoy_config:
        description: The envoy config.
        type: raw
      director_fqdn:
        description: The director host name the envoy dials.
        type: str
      director_ip:
        description: The director's exposed IP address.
        type: str
      director_port:
        description: The director's exposed port.
        type: raw
      director_agg_port:
        description: The aggregator's exposed port.
        type: raw
      registry:
        description: The image registry.
        type: str
      image:
        description: The envoy image.
        type: str
      image_tag:
        description: The envoy image tag.
        type: raw
      certificate_path:
        description: The envoy certificate; when it exists its CN must equal the envoy name.
        type: path
  any_errors_fatal:
    description:
      - V(true) - one bad envoy stops every envoy. V(false) - only bad envoys fail.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Check every envoy's inputs
  openfl.envoy.envoy_inputs:
    envoys: "{{ ansible_play_batch | map('extract', hostvars, 'envoy_preflight_entry') | list }}"
  run_once: true
  register: envoy_preflight_batch
"""

RETURN = r"""
envoys:
  description: One entry per envoy, by name, with C(failed), C(msg) and C(errors) (its own).
  returned: always
  type: dict
errors:
  description: Every error of every envoy.
  returned: always
  type: list
  elements: str
bad:
  description: The envoys with bad input.
  returned: always
  type: list
  elements: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openfl.envoy.plugins.module_utils.validation import (
    EnvoyInput,
    certificate_cn,
    shared_namespace_errors,
    validate_envoy,
)

INPUTS = (
    "namespace",
    "python_dir",
    "envoy_config",
    "director_fqdn",
    "director_ip",
    "director_port",
    "director_agg_port",
    "registry",
    "image",
    "image_tag",
)
ENVOY_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "cluster": {"type": "str", "default": ""},
    "certificate_path": {"type": "path"},
    "namespace": {"type": "str"},
    "python_dir": {"type": "path"},
    "envoy_config": {"type": "raw"},
    "director_fqdn": {"type": "str"},
    "director_ip": {"type": "str"},
    "director_port": {"type": "raw"},
    "director_agg_port": {"type": "raw"},
    "registry": {"type": "str"},
    "image": {"type": "str"},
    "image_tag": {"type": "raw"},
}


def envoy_errors(entry: dict[str, Any]) -> list[str]:
    cert_cn, cert_errors = certificate_cn(entry["name"], entry["certificate_path"])
    report = validate_envoy(EnvoyInput(name=entry["name"], cert_cn=cert_cn, **{k: entry[k] for k in INPUTS}))
    return cert_errors + report.errors


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "envoys": {"type": "list", "elements": "dict", "required": True, "options": ENVOY_SPEC},
            "any_errors_fatal": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    entries = module.params["envoys"]
    errors = {entry["name"]: envoy_errors(entry) for entry in entries}
    claims = [(e["name"], e["cluster"], e["namespace"]) for e in entries if e["namespace"]]
    for name, shared in shared_namespace_errors(claims).items():
        errors[name].extend(shared)
    bad = [name for name, errs in errors.items() if errs]
    results: dict[str, dict[str, Any]] = {}
    for name, errs in errors.items():
        if errs:
            results[name] = {"failed": True, "msg": "; ".join(errs), "errors": errs}
        elif bad and module.params["any_errors_fatal"]:
            results[name] = {
                "failed": True,
                "msg": f"not started: preflight found bad input for {', '.join(bad)} and "
                "envoy_preflight_any_errors_fatal is true; nothing was changed",
                "errors": [],
            }
        else:
            results[name] = {"failed": False, "errors": []}
    module.exit_json(changed=False, envoys=results, errors=[e for errs in errors.values() for e in errs], bad=bad)


if __name__ == "__main__":
    main()
