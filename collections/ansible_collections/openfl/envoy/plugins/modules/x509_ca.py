#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: x509_ca
short_description: Create or verify the federation's root CA (key encrypted with a passphrase)
version_added: 0.1.0
description:
  - Creates the root CA the director and every envoy trust, when neither its certificate nor its key exists
    (O(mode=create)), or verifies an existing one - created earlier or brought by the operator (O(mode=existing)).
  - 'A new CA is a self-signed certificate with C(basicConstraints CA:true) (critical, path length O(path_length)),
    C(keyUsage keyCertSign, cRLSign) (critical), subject and authority key identifiers, a serial number from a CSPRNG,
    and a PKCS#8 private key encrypted with O(passphrase).'
  - 'Idempotence contract: an existing CA is B(never) regenerated. Both files present: the key must open with
    O(passphrase), match the certificate, and the certificate must be a CA that is valid now and for at least
    O(min_remaining_days) more days, otherwise the module fails with the cause and the way out. One file without
    the other is an error too (it never creates a new CA over half of an old one).'
  - An existing CA whose subject or key type differs from the options is kept as is, with a warning.
  - A CA key readable by group or others gets mode C(0600) (reported as a change); a C(0400) key is kept.
  - A new CA is written under an exclusive lock (C(.ca.lock) next to the key) and only if no other run created one
    meanwhile, so concurrent runs never pair one run's key with another's certificate.
  - Never returns key material or the passphrase.
author:
  - openfl-envoy-deploy maintainers (@openfl-envoy-deploy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - openfl.envoy.controller
  - openfl.envoy.pki
options:
  certificate_path:
    description:
      - The CA certificate (PEM). Written with mode C(0644).
    type: path
    required: true
  private_key_path:
    description:
      - The CA private key (PEM, PKCS#8). Written encrypted with O(passphrase), mode C(0600).
      - Its directory is created with mode C(0700) when missing.
    type: path
    required: true
  passphrase:
    description:
      - The passphrase that encrypts a new CA key and opens an existing one. Keep it in a vault.
      - Required to create a CA unless O(allow_unencrypted_key=true).
    type: str
  mode:
    description:
      - V(create) creates the CA when absent and verifies it when present.
      - V(existing) (bring your own CA, for example the director's) only verifies, and fails when absent.
    type: str
    choices: [create, existing]
    default: create
  common_name:
    description:
      - Subject common name of a new CA.
    type: str
    default: OpenFL Federation Root CA
  organization_name:
    description:
      - Optional subject organization of a new CA.
    type: str
  key_size:
    description:
      - RSA key size of a new CA key (with O(key_type=rsa)).
    type: int
    choices: [2048, 3072, 4096]
    default: 4096
  valid_days:
    description:
      - Validity of a new CA certificate, in days (default 20 years).
    type: int
    default: 7300
  path_length:
    description:
      - C(pathLenConstraint) of a new CA; V(0) allows no intermediate CAs below it, V(-1) sets no limit.
    type: int
    default: 0
  allow_unencrypted_key:
    description:
      - Allow creating a CA key without a passphrase (throw-away CAs only). An existing unencrypted key is
        always accepted, with a warning.
    type: bool
    default: false
  min_remaining_days:
    description:
      - Fail when the CA expires within this many days (for example the validity of the certificates it will sign).
      - V(0) only requires the CA to be valid now.
    type: int
    default: 0
  private_dirs:
    description:
      - Directories kept owner-only (mode C(0700)) before the CA is touched, for example the PKI directory that
        holds the CA's and the envoys' keys. Each is created when missing and narrowed when group or others may
        enter it.
      - Any change to them makes the task changed, listed in RV(private_dirs_changed).
    type: list
    elements: path
    default: []
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details: The decision runs as in a real run; nothing is generated or written.
  diff_mode:
    support: full
    details: Shows the parsed certificate facts before and after, never key material.
requirements:
  - cryptography >= 40.0
"""

EXAMPLES = r"""
- name: Create the federation root CA once, on the control node
  openfl.envoy.x509_ca:
    certificate_path: "{{ openfl_pki_dir }}/ca/root_ca.crt"
    private_key_path: "{{ openfl_pki_dir }}/ca/root_ca.key"
    passphrase: "{{ openfl_ca_passphrase }}"
    common_name: Example Federation Root CA
  run_once: true
  delegate_to: localhost

- name: Use the director's existing CA (bring your own); fail if it expires within a year
  openfl.envoy.x509_ca:
    mode: existing
    certificate_path: /secure/director-ca/ca.cert.pem
    private_key_path: /secure/director-ca/ca.key.pem
    passphrase: "{{ vault_director_ca_passphrase }}"
    min_remaining_days: 365
"""

RETURN = r"""
private_dirs_changed:
  description: The directories of O(private_dirs) that were created or narrowed to mode C(0700) (or would be).
  returned: always
  type: list
  elements: str
  sample: []
reason:
  description: Why the module changed something or not.
  returned: always
  type: str
  sample: unchanged
  choices: [created, file mode fixed, unchanged]
certificate_path:
  description: Path of the CA certificate.
  returned: always
  type: str
  sample: /work/pki/site-a/ca/root_ca.crt
private_key_path:
  description: Path of the CA private key.
  returned: always
  type: str
  sample: /work/pki/site-a/ca/root_ca.key
certificate:
  description: Parsed facts of the CA certificate (predicted in check mode for a CA not yet created).
  returned: always
  type: dict
  contains:
    subject:
      description: Subject in RFC 4514 form.
      type: str
      sample: CN=OpenFL Federation Root CA
    common_name:
      description: Subject common name.
      type: str
      sample: OpenFL Federation Root CA
    subject_alt_names:
      description: Subject alternative names (C(DNS:) and C(IP:) entries).
      type: list
      elements: str
      sample: []
    issuer:
      description: Issuer in RFC 4514 form.
      type: str
      sample: CN=OpenFL Federation Root CA
    serial_number:
      description: Serial number in hex, or C((new)) when predicted.
      type: str
      sample: 5c1f0e2a9d
    not_before:
      description: Start of validity (UTC, ISO 8601).
      type: str
      sample: "2026-01-01T00:00:00Z"
    not_after:
      description: End of validity (UTC, ISO 8601).
      type: str
      sample: "2046-01-01T00:00:00Z"
    fingerprint_sha256:
      description: SHA-256 fingerprint of the certificate, or C((new)) when predicted.
      type: str
      sample: "ab:cd:..."
    public_key:
      description: Key type and size or curve.
      type: str
      sample: RSA 4096
    basic_constraints:
      description: C(ca), C(path_length) and C(critical) of basicConstraints.
      type: dict
      sample: {ca: true, path_length: 0, critical: true}
    key_usage:
      description: Key usages set.
      type: list
      elements: str
      sample: [key_cert_sign, crl_sign]
    extended_key_usage:
      description: Extended key usages set.
      type: list
      elements: str
      sample: []
private_key:
  description: Facts of the CA key; never the key itself.
  returned: always
  type: dict
  contains:
    type:
      description: Key type and size or curve.
      type: str
      sample: RSA 4096
    public_key_fingerprint_sha256:
      description: SHA-256 over the DER public key (absent when predicted).
      type: str
      sample: "12:34:..."
    encrypted:
      description: Whether the key file is encrypted with a passphrase.
      type: bool
      sample: true
self_signed:
  description: Whether the CA certificate is self-signed (a root).
  returned: always
  type: bool
  sample: true
days_remaining:
  description: Whole days until the CA expires.
  returned: always
  type: int
  sample: 7299
"""

from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module
from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import require_cryptography
from ansible_collections.openfl.envoy.plugins.module_utils.pki_modules import ca_argument_spec as argument_spec
from ansible_collections.openfl.envoy.plugins.module_utils.pki_modules import run_ca


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), run_ca, require_cryptography)


if __name__ == "__main__":
    main()
