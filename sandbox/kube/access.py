"""Who may do what on the Kubernetes API test double: two identities and SelfSubjectAccessReview.

The admin identity (the token in `<state-dir>/kubeconfig`) may do everything, as a cluster-admin
binding would. The viewer identity (the token in `<state-dir>/kubeconfig-viewer`) may only read
(`get`, `list`, `watch`, pod logs included), as the built-in `view` ClusterRole would: writes get the
API server's 403 Forbidden, and a SelfSubjectAccessReview (`authorization.k8s.io/v1`) answers
exactly what the server then enforces, so tests can exercise a restricted identity.
"""

from __future__ import annotations

from .errors import ApiError
from .resources import Resource

ADMIN = "sandbox-admin"
VIEWER = "sandbox-viewer"
READ_VERBS = frozenset({"get", "list", "watch"})
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def allowed(identity: str, verb: str) -> bool:
    return identity == ADMIN or verb in READ_VERBS


def verb_of(method: str, name: str, watch: bool) -> str:
    """The RBAC verb of an HTTP request on a resource URL."""
    if method == "GET":
        return "watch" if watch else ("get" if name else "list")
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def forbidden(identity: str, verb: str, resource: Resource, namespace: str, subresource: str = "") -> ApiError:
    """The API server's 403 text, e.g. `secrets is forbidden: User "x" cannot create resource ...`."""
    plural = f"{resource.plural}/{subresource}" if subresource else resource.plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{resource.plural} is forbidden: User "{identity}" cannot {verb} resource "{plural}" '
        f'in API group "{resource.group}" {scope}'
    )
    details = {"kind": resource.plural, **({"group": resource.group} if resource.group else {})}
    return ApiError(403, "Forbidden", message, details)


def review(identity: str, body: object) -> dict:
    """A SelfSubjectAccessReview answered for `identity` (spec echoed, status filled in)."""
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        raise ApiError(400, "BadRequest", "SelfSubjectAccessReview: spec is required")
    spec = body["spec"]
    attributes = spec.get("resourceAttributes") or spec.get("nonResourceAttributes") or {}
    verb = str(attributes.get("verb") or "")
    if not verb:
        raise ApiError(
            422,
            "Invalid",
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes.verb: Required value',
        )
    if allowed(identity, verb):
        status: dict = {"allowed": True, "reason": f"sandbox: {identity} may {verb}"}
    else:
        status = {"allowed": False, "denied": True, "reason": f"sandbox: {identity} may only get, list and watch"}
    return {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
