#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: envoy_certificates
short_description: Issue or verify the key and certificate of many envoys, signed by one CA
version_added: 0.2.0
description:
  - For every envoy given, in one process (manual steps 10-12), keeps an unencrypted private key and a client
    certificate (CN and SAN are the envoy's name, the OpenFL shard name) signed by the CA, plus a copy of the root
    CA - the three files of the envoy's C(envoy-cert) Secret.
  - Each envoy is decided as M(openfl.envoy.x509_certificate) decides one (the same backend and idempotence
    contract); the CA is read once and its key opened only when a certificate is due.
  - An existing key that is unreadable or of another type or size than asked is not replaced unless the envoy's
    C(regenerate) policy says so; by default that envoy fails with the way out.
  - A key or certificate that is regenerated for any reason but a missing file comes with a warning naming the
    envoy and the reason.
  - Meant to run once per play (C(run_once)), followed by M(openfl.envoy.envoy_result) per envoy.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
  - openfl.envoy.attributes.diff
  - openfl.envoy.pki
options:
  envoys:
    description:
      - The envoys and where their files go.
    type: list
    elements: dict
    required: true
    suboptions:
      common_name:
        description: The envoy's name.
        type: str
        required: true
      certificate_path:
        description: The certificate file (C(envoy.crt)).
        type: path
        required: true
      private_key_path:
        description: The private key file (C(priv.key)).
        type: path
        required: true
      root_ca_path:
        description: The copy of the root CA (C(root_ca.crt)).
        type: path
        required: true
      subject_alt_names:
        description: More subject alternative names, after C(DNS:<common_name>).
        type: list
        elements: str
        default: []
      force:
        description: Issue a new certificate (same key) even when nothing is due.
        type: bool
        default: false
      regenerate:
        description:
          - What happens to the envoy's existing private key when it is unreadable or not what O(key_type),
            O(key_size) and O(curve) ask - V(fail) (the default; the envoy fails with the way out), V(never),
            V(partial_idempotence), V(full_idempotence) or V(always), as for
            O(openfl.envoy.x509_certificate#module:regenerate).
        type: str
        choices: [never, fail, partial_idempotence, full_idempotence, always]
        default: fail
        version_added: 0.3.0
  ca_certificate_path:
    description: The signing CA certificate.
    type: path
    required: true
  ca_private_key_path:
    description: The signing CA's private key; opened only when a certificate is signed.
    type: path
    required: true
  ca_passphrase:
    description: Passphrase of the CA key.
    type: str
  ca_chain_path:
    description: When the signing CA is an intermediate, its chain up to the root (PEM).
    type: path
  organization_name:
    description: Optional subject organization.
    type: str
  key_size:
    description: RSA key size of a new key (with O(key_type=rsa)).
    type: int
    choices: [2048, 3072, 4096]
    default: 2048
  valid_days:
    description: Validity of a new certificate, in days. Must end before the CA expires.
    type: int
    default: 365
  renew_before_days:
    description: Issue a new certificate (same key) when the current one expires within this many days.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Issue or verify every envoy's key and certificate
  openfl.envoy.envoy_certificates:
    envoys:
      - common_name: envoy-1
        certificate_path: /srv/pki/envoys/envoy-1/envoy.crt
        private_key_path: /srv/pki/envoys/envoy-1/priv.key
        root_ca_path: /srv/pki/envoys/envoy-1/root_ca.crt
    ca_certificate_path: /srv/pki/ca/root_ca.crt
    ca_private_key_path: /srv/pki/ca/root_ca.key
    ca_passphrase: "{{ vault_ca_passphrase }}"
  run_once: true
  register: envoy_cert_batch
"""

RETURN = r"""
envoys:
  description:
    - One entry per envoy, by name, with what M(openfl.envoy.x509_certificate) returns (C(reason), C(reasons),
      C(key_regenerated), C(certificate_regenerated), C(certificate), C(private_key), never key material), plus
      C(changed), C(diff), C(failed) and C(msg) when it failed, and C(warnings).
  returned: always
  type: dict
"""

from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module
from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import require_cryptography
from ansible_collections.openfl.envoy.plugins.module_utils.pki_modules import (
    envoy_certificates_argument_spec,
    run_envoy_certificates,
)


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(envoy_certificates_argument_spec(), run_envoy_certificates, require_cryptography)


if __name__ == "__main__":
    main()
