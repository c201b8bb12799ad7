#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_preflight
short_description: Validate one OpenFL envoy's inputs before anything changes
version_added: 0.1.0
description:
  - Checks the whole input set of one envoy (name, namespace, python directory, envoy config,
    director settings, image settings) against the rules Kubernetes, Helm, KubeFATE and
    OpenFL 1.5 apply later, and fails with B(every) broken rule at once.
  - "Each error names the envoy, the inventory variable or file, and the rule, for example
    C(envoy-2: openfl_director_ip 'director.example' is not an IP address)."
  - On success returns the ConfigMap data of the python directory (file name to text), as
    M(openfl.envoy.envoy_objects) will write it.
  - Options that are not given are not checked. For all envoys of a play at once (and namespaces they share),
    use M(openfl.envoy.envoy_inputs), as the C(envoy_preflight) role does.
  - Read-only; never reports a change.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
options:
  name:
    description:
      - The envoy name (the inventory host name) - shard name, Helm release name and certificate CN.
      - A DNS-1123 label of at most 53 characters.
    type: str
    required: true
  namespace:
    description:
      - The envoy's Kubernetes namespace; a DNS-1123 label that is not a system namespace.
    type: str
  python_dir:
    description:
      - Directory on the control node holding the shard descriptor module(s) and an optional C(requirements.txt).
      - Only regular UTF-8 text files whose names are ConfigMap keys, no subdirectories, at most 1 MiB in total.
    type: path
  envoy_config:
    description:
      - The envoy config (the chart's C(envoyConfigs)); C(shard_descriptor.template) is required and its
        module must be a file of O(python_dir) defining the class.
      - C(params.review_experiment) must not be true (the approval prompt needs a terminal).
    type: raw
  director_fqdn:
    description:
      - The director host name the envoy dials; must pass OpenFL's FQDN rule (no trailing dot, no underscores).
    type: str
  director_ip:
    description:
      - The director's exposed IP address (it goes into the pod's C(hostAliases)).
    type: str
  director_port:
    description:
      - The director's exposed port, 1 to 65535.
    type: raw
  director_agg_port:
    description:
      - The aggregator's exposed port, 1 to 65535, different from O(director_port).
    type: raw
  registry:
    description:
      - Image registry or organisation prefix of the envoy image.
    type: str
  image:
    description:
      - Envoy image name, without registry and tag.
    type: str
  image_tag:
    description:
      - Envoy image tag; a string (quote numeric tags in YAML).
    type: raw
  certificate_path:
    description:
      - Path of the envoy certificate (PEM). When the file exists, its subject common name must equal O(name).
      - A missing file is not an error (certificates are issued after preflight).
      - Needs the Python C(cryptography) library when the file exists.
    type: path
attributes:
  check_mode:
    support: full
    description: Runs the same checks in check mode; never changes anything.
  diff_mode:
    support: none
    description: Nothing to diff; the module is read-only.
requirements:
  - cryptography (only when O(certificate_path) exists)
"""

EXAMPLES = r"""
- name: Validate the envoy's inputs
  openfl.envoy.envoy_preflight:
    name: "{{ inventory_hostname }}"
    namespace: "{{ openfl_envoy_namespace }}"
    python_dir: "{{ openfl_envoy_python_dir }}"
    envoy_config: "{{ openfl_envoy_config }}"
    director_fqdn: "{{ openfl_director_fqdn }}"
    director_ip: "{{ openfl_director_ip }}"
    director_port: "{{ openfl_director_port }}"
    director_agg_port: "{{ openfl_director_agg_port }}"
    registry: "{{ openfl_envoy_registry }}"
    image: "{{ openfl_envoy_image }}"
    image_tag: "{{ openfl_envoy_image_tag }}"
    certificate_path: "{{ openfl_pki_dir }}/envoys/{{ inventory_hostname }}/envoy.crt"
  register: preflight

- name: Read and check only the python directory (what the envoy-python-configs ConfigMap will hold)
  openfl.envoy.envoy_preflight:
    name: envoy-1
    python_dir: /srv/openfl/envoy-1/python
    envoy_config:
      shard_descriptor:
        template: dummy_shard_descriptor.DummyShardDescriptor
"""

RETURN = r"""
configmap_data:
  description: The python directory as ConfigMap data, file name to text; empty when O(python_dir) is not given.
  returned: success
  type: dict
  sample: {"dummy_shard_descriptor.py": "from openfl...", "requirements.txt": "numpy\n"}
files:
  description: The file names of the python directory, sorted.
  returned: success
  type: list
  elements: str
  sample: ["dummy_shard_descriptor.py", "requirements.txt"]
total_bytes:
  description: Bytes the ConfigMap data takes (file names plus contents; the limit is 1048576).
  returned: success
  type: int
  sample: 2048
errors:
  description: Every broken rule, one message each, naming the envoy, the field or file, and the rule.
  returned: always
  type: list
  elements: str
  sample: ["envoy-2: openfl_director_ip 'director.example' is not an IP address"]
"""

import importlib.util

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_inputs import certificate_cn
from ansible_collections.openfl.envoy.plugins.module_utils.validation import EnvoyInput, validate_envoy

# certificate_cn reads certificates with the cryptography library.
HAS_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str"),
    python_dir=dict(type="path"),
    envoy_config=dict(type="raw"),
    director_fqdn=dict(type="str"),
    director_ip=dict(type="str"),
    director_port=dict(type="raw"),
    director_agg_port=dict(type="raw"),
    registry=dict(type="str"),
    image=dict(type="str"),
    image_tag=dict(type="raw"),
    certificate_path=dict(type="path"),
)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    cert_cn, cert_errors = certificate_cn(params["name"], params["certificate_path"])
    spec = EnvoyInput(
        name=params["name"],
        namespace=params["namespace"],
        python_dir=params["python_dir"],
        envoy_config=params["envoy_config"],
        director_fqdn=params["director_fqdn"],
        director_ip=params["director_ip"],
        director_port=params["director_port"],
        director_agg_port=params["director_agg_port"],
        registry=params["registry"],
        image=params["image"],
        image_tag=params["image_tag"],
        cert_cn=cert_cn,
    )
    report = validate_envoy(spec)
    errors = cert_errors + report.errors
    if errors:
        module.fail_json(
            msg=f"{params['name']}: {len(errors)} input error(s): " + "; ".join(errors),
            errors=errors,
        )
    data = report.configmap_data
    module.exit_json(
        changed=False,
        configmap_data=data,
        files=sorted(data),
        total_bytes=sum(len(k.encode()) + len(v.encode()) for k, v in data.items()),
        errors=[],
    )


if __name__ == "__main__":
    main()
