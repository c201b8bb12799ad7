# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The KubeFATE connection option family shared by every openfl.envoy.kubefate_* module.
    # Set it once per play with module_defaults: group/openfl.envoy.kubefate.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the KubeFATE service, scheme included, without the C(/v1) API prefix,
        for example C(https://kubefate.site-a.example.org) or C(http://10.0.0.5:8080).
      - Every request goes to the exact path KubeFATE registers (redirects are never followed).
    type: str
    required: true
  username:
    description:
      - KubeFATE user (the service's C(FATECLOUD_USER_USERNAME)); the module logs in with it and
        logs in again whenever the service answers 401 (expired token, service restart).
    type: str
    required: true
  password:
    description:
      - Password of O(username). Keep it in a vault; it never appears in results or logs.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the TLS certificate of an C(https) O(url).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the service's certificate, when it is not in the system trust store.
    type: path
  host_header:
    description:
      - Value of the HTTP C(Host) header, for an ingress that routes by host name while O(url) uses an IP
        address (KubeFATE's ingress answers for C(example.com) by default).
    type: str
  timeout:
    description:
      - Seconds each single HTTP request may take. Connection errors, time-outs and empty-body HTTP 500
        answers are retried a bounded number of times with a growing pause; a mutating request whose
        outcome is unknown is only repeated after checking that it left nothing behind.
    type: int
    default: 30
notes:
  - Set the connection once per play with C(module_defaults) and the action group C(group/openfl.envoy.kubefate).
"""
