# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Key options shared by openfl.envoy.x509_ca and openfl.envoy.x509_certificate; their argument spec is
    # module_utils/pki_common.py:key_argument_spec() (key_size is documented in each module: its default differs).
    DOCUMENTATION = r"""
options:
  key_type:
    description:
      - Type of a new private key - V(rsa) (size O(key_size)) or V(ec) (curve O(curve)).
    type: str
    choices: [rsa, ec]
    default: rsa
  curve:
    description:
      - Elliptic curve of a new key (with O(key_type=ec)) - NIST P-256 or P-384.
    type: str
    choices: [secp256r1, secp384r1]
    default: secp384r1
notes:
  - All certificate logic lives in the backends C(openfl.envoy.plugins.module_utils.pki_ca) and
    C(openfl.envoy.plugins.module_utils.pki_certificate) (sharing C(pki_common)), built on the
    C(cryptography) library; no OpenSSL command line is run.
  - Files are written atomically (a temporary file in the same directory, then a rename); keys get mode
    C(0600), certificates C(0644), created directories C(0700).
"""
