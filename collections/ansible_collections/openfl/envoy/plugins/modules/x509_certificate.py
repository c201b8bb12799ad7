#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: x509_certificate
short_description: Keep a private key and a certificate signed by the federation CA (envoys and the director)
version_added: 0.1.0
description:
  - Keeps a private key and a leaf certificate signed by the CA of O(ca_certificate_path), and optionally a copy of
    the root CA next to them - for an envoy exactly the three files of its C(envoy-cert) Secret
    (C(envoy.crt), C(priv.key), C(root_ca.crt)).
  - 'Profile V(client) (envoys): subject CN = SAN DNS = O(common_name) exactly (OpenFL''s aggregator rejects any other
    CN). Profile V(server) (the director): SAN = O(subject_alt_names) (the director FQDN(s) and IPs the envoys dial),
    defaulting to O(common_name). Both profiles carry C(basicConstraints CA:false) (critical),
    C(keyUsage digitalSignature, keyEncipherment) (critical), C(extendedKeyUsage clientAuth, serverAuth),
    subject and authority key identifiers, and a 159-bit serial number from a CSPRNG.'
  - 'Idempotence contract, decided in this order, each decision named in RV(reasons):
    a B(new key) (and certificate) when the key is missing, or when O(regenerate) allows it for a key that is
    unreadable or of another type/size/curve than asked (by default the module fails instead, with the way out);
    a B(new certificate with the same key) when it is missing, unreadable, does not match the key, was not issued by
    the CA (V(ca changed)), its CN/SAN differ (V(name changed)), its extensions differ (V(profile changed)), it has
    expired or expires within O(renew_before_days) (V(expires within renewal window)), or O(force=true);
    a B(rewrite only) when the intermediates in O(certificate_path) or the copy at O(root_ca_path) differ;
    a B(mode fix) when a file mode differs. A different O(valid_days) alone never re-issues.'
  - A certificate never outlives its CA. When a certificate must be issued and the CA is expired or expires before
    the requested O(valid_days), the module fails with the CA's expiry and the way out; it does not shorten the
    validity silently.
  - The CA key is opened only when a certificate is signed; a verify-only run does no key decryption.
  - Never returns key material or passphrases.
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
      - The certificate file - the leaf, followed by any intermediate CAs (OpenFL's C(envoy.crt)). Mode C(0644).
    type: path
    required: true
  private_key_path:
    description:
      - The unencrypted PEM (PKCS#8) private key (OpenFL's C(priv.key)). Mode C(0600).
    type: path
    required: true
  root_ca_path:
    description:
      - Where to keep a copy of the root CA certificate (OpenFL's C(root_ca.crt)); not written when omitted.
    type: path
  ca_certificate_path:
    description:
      - The signing CA certificate (usually the root written by M(openfl.envoy.x509_ca)).
    type: path
    required: true
  ca_private_key_path:
    description:
      - The signing CA's private key; opened only when a certificate is signed.
    type: path
    required: true
  ca_passphrase:
    description:
      - Passphrase of the CA key.
    type: str
  ca_chain_path:
    description:
      - When the signing CA is an intermediate, a PEM file with its chain up to and including the self-signed root.
        The intermediates then follow the leaf in O(certificate_path) and the root goes to O(root_ca_path).
    type: path
  common_name:
    description:
      - Subject common name - for an envoy its name (the OpenFL shard name), for the director its FQDN.
    type: str
    required: true
  subject_alt_names:
    description:
      - Subject alternative names, each C(DNS:<name>), C(IP:<address>) or a bare name or address.
      - Profile V(client) always carries C(DNS:<common_name>) first; entries given here are added after it.
      - Profile V(server) uses exactly these, or C(DNS:<common_name>) when empty.
    type: list
    elements: str
    default: []
  organization_name:
    description:
      - Optional subject organization.
    type: str
  profile:
    description:
      - V(client) for envoys, V(server) for the director (same extensions; they differ in how SANs are chosen).
    type: str
    choices: [client, server]
    default: client
  key_size:
    description:
      - RSA key size of a new key (with O(key_type=rsa)).
    type: int
    choices: [2048, 3072, 4096]
    default: 2048
  valid_days:
    description:
      - Validity of a new certificate, in days. Must end before the CA expires.
    type: int
    default: 365
  renew_before_days:
    description:
      - Issue a new certificate (same key) when the current one expires within this many days.
      - Must be below O(valid_days).
    type: int
    default: 30
  force:
    description:
      - Issue a new certificate (same key) even when the current one is fine.
    type: bool
    default: false
  regenerate:
    description:
      - What happens to an B(existing) private key that is not what was asked (a missing key is always created).
        The names and meanings are those of C(community.crypto.openssl_privatekey)'s option of the same name.
        A new key changes the envoy's (or director's) Secret and restarts it, hence the default.
      - V(fail) (the default) - an unreadable key, or one of another type, size or curve than O(key_type),
        O(key_size) and O(curve) ask, fails the task with the way out; the key is kept.
      - V(never) - an existing readable key is kept whatever its type and size (its certificate is issued for it);
        an unreadable one fails.
      - V(partial_idempotence) - a key of another type, size or curve is replaced; an unreadable one fails.
      - V(full_idempotence) - a key of another type, size or curve, or one that cannot be read (broken, encrypted),
        is replaced.
      - V(always) - the key (and so the certificate) is replaced on every run; not idempotent.
      - Every replacement is named in RV(reasons).
    type: str
    choices: [never, fail, partial_idempotence, full_idempotence, always]
    default: fail
    version_added: 0.3.0
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details:
      - Every decision runs as in a real run (with its reasons); no key is generated, nothing is signed or written.
      - When the CA does not exist yet (a first rollout previewed with C(--check)), the certificate is reported as
        to be issued, with reason C(ca missing (it would be created first)).
  diff_mode:
    support: full
    details: Shows subject, SANs, issuer, serial, validity, key type and reason before and after; never key material.
requirements:
  - cryptography >= 40.0
seealso:
  - module: openfl.envoy.x509_ca
"""

EXAMPLES = r"""
- name: Key and certificate of one envoy (CN = SAN = the envoy name)
  openfl.envoy.x509_certificate:
    common_name: "{{ inventory_hostname }}"
    certificate_path: "{{ openfl_pki_dir }}/envoys/{{ inventory_hostname }}/envoy.crt"
    private_key_path: "{{ openfl_pki_dir }}/envoys/{{ inventory_hostname }}/priv.key"
    root_ca_path: "{{ openfl_pki_dir }}/envoys/{{ inventory_hostname }}/root_ca.crt"
    ca_certificate_path: "{{ openfl_pki_dir }}/ca/root_ca.crt"
    ca_private_key_path: "{{ openfl_pki_dir }}/ca/root_ca.key"
    ca_passphrase: "{{ openfl_ca_passphrase }}"

- name: The director's server certificate from the same CA
  openfl.envoy.x509_certificate:
    profile: server
    common_name: director.fl.example.org
    subject_alt_names:
      - DNS:director.fl.example.org
      - IP:192.0.2.10
    key_type: ec
    curve: secp384r1
    certificate_path: "{{ openfl_pki_dir }}/director/director.crt"
    private_key_path: "{{ openfl_pki_dir }}/director/director.key"
    root_ca_path: "{{ openfl_pki_dir }}/director/root_ca.crt"
    ca_certificate_path: "{{ openfl_pki_dir }}/ca/root_ca.crt"
    ca_private_key_path: "{{ openfl_pki_dir }}/ca/root_ca.key"
    ca_passphrase: "{{ openfl_ca_passphrase }}"
"""

RETURN = r"""
reason:
  description: The first reason for a change, or V(unchanged).
  returned: always
  type: str
  sample: expires within renewal window
reasons:
  description:
    - Every reason for a change, in decision order, for example V(key missing), V(key type changed (...)),
      V(certificate missing), V(certificate does not match key), V(ca changed), V(name changed),
      V(profile changed (...)), V(expired), V(expires within renewal window), V(forced),
      V(certificate chain updated), V(root CA file missing), V(root CA file updated), V(file mode fixed),
      V(ca missing (it would be created first)) (check mode only).
  returned: always
  type: list
  elements: str
  sample: [ca changed]
key_regenerated:
  description: Whether a new private key is (or in check mode would be) generated.
  returned: always
  type: bool
  sample: false
certificate_regenerated:
  description: Whether a new certificate is (or in check mode would be) issued.
  returned: always
  type: bool
  sample: true
certificate_path:
  description: Path of the certificate file.
  returned: always
  type: str
  sample: /work/pki/site-a/envoys/envoy-1/envoy.crt
private_key_path:
  description: Path of the private key file.
  returned: always
  type: str
  sample: /work/pki/site-a/envoys/envoy-1/priv.key
root_ca_path:
  description: Path of the root CA copy, or null when not kept.
  returned: always
  type: str
  sample: /work/pki/site-a/envoys/envoy-1/root_ca.crt
certificate:
  description:
    - Parsed facts of the certificate; predicted (serial and fingerprint V((new))) when check mode would issue one.
    - Same keys as RV(openfl.envoy.x509_ca#module:certificate), plus C(profile).
  returned: always
  type: dict
  sample:
    subject: CN=envoy-1
    common_name: envoy-1
    subject_alt_names: ["DNS:envoy-1"]
    issuer: CN=OpenFL Federation Root CA
    serial_number: 3f2a9c
    not_before: "2026-01-01T00:00:00Z"
    not_after: "2027-01-01T00:00:00Z"
    fingerprint_sha256: "ab:cd:..."
    public_key: RSA 2048
    basic_constraints: {ca: false, path_length: null, critical: true}
    key_usage: [digital_signature, key_encipherment]
    extended_key_usage: [clientAuth, serverAuth]
    profile: client
private_key:
  description: Facts of the private key (type, public key fingerprint); never the key itself.
  returned: always
  type: dict
  sample: {type: RSA 2048, public_key_fingerprint_sha256: "12:34:...", encrypted: false}
ca:
  description: The signing CA and the root it chains to (values null in check mode when the CA does not exist yet).
  returned: always
  type: dict
  sample:
    subject: CN=OpenFL Federation Root CA
    root_subject: CN=OpenFL Federation Root CA
    fingerprint_sha256: "9f:..."
    not_after: "2046-01-01T00:00:00Z"
days_remaining:
  description: Whole days until the certificate expires (after this run).
  returned: always
  type: int
  sample: 364
"""

from ansible_collections.openfl.envoy.plugins.module_utils.module_result import run_module
from ansible_collections.openfl.envoy.plugins.module_utils.pki_common import require_cryptography
from ansible_collections.openfl.envoy.plugins.module_utils.pki_modules import certificate_argument_spec as argument_spec
from ansible_collections.openfl.envoy.plugins.module_utils.pki_modules import run_certificate


def main() -> None:
    # Plays run it in its action plugin, in the controller's worker; this is the same code.
    run_module(argument_spec(), run_certificate, require_cryptography)


if __name__ == "__main__":
    main()
