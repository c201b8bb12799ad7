#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_sites
short_description: Check every site of a rollout (inventory, Kubernetes, KubeFATE, chart, CA) before changes
version_added: 0.3.0
description:
  - Checks, read-only and once per site for every envoy given, what the rollout needs from its environment, and
    returns every error at once, each naming the site group (or envoy), the inventory variable and the way out.
  - "Inventory shape: each envoy is in exactly one site group (a group whose hosts are all envoys, other than
    C(envoys), C(all) and C(ungrouped): the groups under C(envoys)), and its site group sets
    C(openfl_kubefate_url), C(openfl_kubefate_username) and C(openfl_kubefate_password)."
  - "Kubernetes, once per kubeconfig and context: the kubeconfig exists and parses, the context exists, the API
    answers, and the identity may get, create and patch namespaces, get, create and update secrets and configmaps,
    list pods, read pod logs and get deployments (one SelfSubjectAccessReview each, namespaced ones in the
    namespace of the site's first envoy)."
  - "KubeFATE, once per service: the URL answers, the login succeeds (a refused login is not retried), and the
    service version is one the client supports: v1.4.1 to v1.4.5 (KubeFATE v1.6.0 to v2.0.0); an older one is an
    error, a newer one a warning."
  - "The chart, once: it packages as KubeFATE gets it (Chart.yaml name and SemVer version) and Helm's own lint
    (the C(helm_python) package, with the chart's C(ci/lint-values.yaml) when it has one) finds no error; without
    C(helm_python) the lint is skipped with a warning."
  - "The CA, once: when it exists, its key opens with the passphrase, it is a CA, it is valid now and still valid
    after the validity of the envoy certificates it would sign; when it does not, only O(ca.mode=existing) is an
    error."
  - With O(any_errors_fatal=true) one bad site stops every envoy; the others fail with a message naming the bad
    envoys, so nothing is half-applied.
  - Meant to run once per play (C(run_once)), followed by M(openfl.envoy.envoy_result) per envoy.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
  - openfl.envoy.attributes
options:
  envoys:
    description:
      - The envoys of the play, with how their site is reached.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The envoy name (its inventory host).
        type: str
        required: true
      namespace:
        description: The envoy's namespace (where namespaced rights are asked).
        type: str
        default: ''
      kubernetes:
        description: The site's Kubernetes connection.
        type: dict
        default: {}
        suboptions:
          kubeconfig:
            description: The kubeconfig file; unset means C(KUBECONFIG) or C(~/.kube/config).
            type: str
          context:
            description: The kubeconfig context; unset means its current context.
            type: str
      kubefate:
        description: The site's KubeFATE connection; empty values are reported as missing settings.
        type: dict
        default: {}
        suboptions:
          url:
            description: The KubeFATE URL.
            type: str
          username:
            description: The KubeFATE user.
            type: str
          password:
            description: The KubeFATE password.
            type: str
          validate_certs:
            description: Whether to verify the service's TLS certificate.
            type: bool
            default: true
          ca_path:
            description: CA bundle for the service's TLS certificate.
            type: path
          host_header:
            description: C(Host) header when the ingress is reached by IP.
            type: str
  groups:
    description:
      - The inventory's groups and their hosts (Ansible's C(groups)); the site groups are found in it.
    type: dict
    required: true
  chart_path:
    description:
      - The chart directory to check; unset skips the chart check.
    type: path
  ca:
    description:
      - The CA the pki stage uses; unset skips the CA check.
    type: dict
    suboptions:
      certificate_path:
        description: The CA certificate.
        type: path
        required: true
      private_key_path:
        description: The CA private key.
        type: path
        required: true
      passphrase:
        description: The CA key's passphrase (C(openfl_ca_passphrase)).
        type: str
      mode:
        description: V(create) - an absent CA will be created. V(existing) - an absent CA is an error.
        type: str
        choices: [create, existing]
        default: create
      valid_days:
        description: The validity of the envoy certificates the CA signs; the CA must last that long.
        type: int
        default: 365
      passphrase_set:
        description:
          - Whether C(openfl_ca_passphrase) is set (asked without reading it, so that a lookup behind it makes
            nothing). With no CA yet and mode V(create), the new CA key needs it.
        type: bool
        default: true
      allow_unencrypted_key:
        description: The ca role's C(ca_allow_unencrypted_key) - a new CA key may then be unencrypted.
        type: bool
        default: false
  not_checked:
    description:
      - Envoys of the inventory outside this run (C(--limit)); named in a warning, as neither checked nor changed.
    type: list
    elements: str
    default: []
  any_errors_fatal:
    description:
      - V(true) - one bad site stops every envoy. V(false) - only the envoys of bad sites fail.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Check every site of the play's envoys
  openfl.envoy.envoy_sites:
    envoys: "{{ ansible_play_batch | map('extract', hostvars, 'envoy_preflight_site_entry') | list }}"
    groups: "{{ groups }}"
    chart_path: charts/openfl-envoy
  run_once: true
  register: envoy_preflight_sites
"""

RETURN = r"""
envoys:
  description: One entry per envoy, by name, with C(failed), C(msg) and C(errors) (its own).
  returned: always
  type: dict
errors:
  description: Every error, once.
  returned: always
  type: list
  elements: str
bad:
  description: The envoys with an error.
  returned: always
  type: list
  elements: str
bad_sites:
  description: The site groups with an error.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module
from ansible_collections.openfl.envoy.plugins.module_utils.site_checks import argument_spec, site_result


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), site_result)


if __name__ == "__main__":
    main()
