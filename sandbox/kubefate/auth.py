"""Login and bearer tokens of the KubeFATE test double: gin-jwt v2.8.0 + golang-jwt v4.2.0 behaviour.

HS256 JWTs signed with a random 32-character key drawn per (simulated) process start, claims
`exp`, `id`, `orig_iat`; error texts are the libraries' own so clients can match them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import secrets
import string
import time
from http.cookies import CookieError, SimpleCookie

REALM_HEADER = ("WWW-Authenticate", "JWT realm=gin jwt")
EMPTY_HEADER = "auth header is empty"
INVALID_HEADER = "auth header is invalid"
EMPTY_QUERY = "query token is empty"
EMPTY_COOKIE = "cookie token is empty"
MISSING_LOGIN = "missing Username or Password"
FAILED_LOGIN = "incorrect Username or Password"


class AuthError(Exception):
    """An authentication failure answered as gin-jwt does: `{"code": status, "message": text}`."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(part: str) -> bytes:
    """golang-jwt v4 DecodeSegment: URL-safe base64, padding optional."""
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise AuthError("illegal base64 data at input byte 0") from None


class TokenIssuer:
    """Issues and checks tokens; `rotate()` is a service restart (every earlier token becomes invalid)."""

    def __init__(self) -> None:
        self._key = b""
        self.rotate()

    def rotate(self) -> None:
        alphabet = string.ascii_letters + string.digits
        self._key = "".join(secrets.choice(alphabet) for _ in range(32)).encode()

    def issue(self, username: str, ttl: float) -> tuple[str, float]:
        """A token for `username` valid `ttl` seconds; returns (token, expiry as a UNIX time)."""
        issued = time.time()
        expiry = issued + ttl
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        # Go encodes the claims map with sorted keys; exp/orig_iat are whole seconds.
        claims = {"exp": int(expiry), "id": username, "orig_iat": int(issued)}
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        return f"{header}.{payload}.{self._sign(f'{header}.{payload}')}", expiry

    def _sign(self, signing_input: str) -> str:
        return _b64url(hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest())

    def verify(self, token: str) -> str:
        """The username of a valid token, else AuthError with golang-jwt's text."""
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthError("token contains an invalid number of segments")
        header, claims = (self._json_segment(p) for p in parts[:2])
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            raise AuthError("invalid signing algorithm")
        if not isinstance(claims, dict):
            raise AuthError("json: cannot unmarshal array into Go value of type jwt.MapClaims")
        problem = None
        exp = claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool) and exp < time.time():
            problem = "Token is expired"
        # golang-jwt checks the claims first and the signature last; the signature error wins.
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            problem = "signature is invalid"
        if problem:
            raise AuthError(problem)
        if "exp" not in claims:
            raise AuthError("missing exp field", 400)
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise AuthError("exp must be float64 format", 400)
        return str(claims.get("id", ""))

    @staticmethod
    def _json_segment(part: str) -> object:
        try:
            return json.loads(_b64url_decode(part))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise AuthError("invalid character looking for beginning of value") from None


def find_token(headers: dict[str, str], query: dict[str, list[str]]) -> str:
    """gin-jwt's `header: Authorization, query: token, cookie: jwt` lookup: the first hit wins, else the
    last lookup's error (so a malformed header still reports `cookie token is empty`)."""
    error = EMPTY_COOKIE
    header = headers.get("authorization", "")
    parts = header.split(" ", 1)
    if len(parts) == 2 and parts[0] == "Bearer" and parts[1]:
        return parts[1]
    token = (query.get("token") or [""])[0]
    if token:
        return token
    cookies = SimpleCookie()
    with contextlib.suppress(CookieError):
        cookies.load(headers.get("cookie", ""))
    if "jwt" in cookies and cookies["jwt"].value:
        return cookies["jwt"].value
    raise AuthError(error)
