"""Pod name resolution for processes the sandbox kubelet runs (imported by `site` at start-up).

A pod's /etc/hosts, which the kubelet writes with the pod's hostAliases, is at
`$SANDBOX_POD_ROOT/etc/hosts` (the process runs without root, so the machine's /etc/hosts stays as
it is). This module makes the process resolve those names as the pod would:

- Python-level lookups: `socket.getaddrinfo`/`gethostbyname` answer from the pod's hosts file first.
- gRPC: its C core resolves names itself (c-ares or libc), so when `grpc` is imported its
  `secure_channel`/`insecure_channel` are wrapped: a target `<alias>:<port>` is dialled at
  `ipv4:<ip>:<port>` while the TLS name check and the authority stay `<alias>` (the option
  `grpc.ssl_target_name_override`), i.e. the director's certificate must still name the alias.

- Published ports (SANDBOX_POD_PORTS, `<containerPort>=<ip>:<nodePort>,...`, set by the kubelet for
  ports a NodePort Service exposes): there is no kube-proxy and no pod network, so a gRPC server
  that binds `<host>:<containerPort>` binds `<ip>:<nodePort>` instead, where the Service's nodePort
  is reached (the node's address). Its log still names the address it was asked for.

Nothing happens without SANDBOX_POD_ROOT, or for names the hosts file does not list.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import ipaddress
import os
import socket
import sys

_ROOT = os.environ.get("SANDBOX_POD_ROOT", "")


def _read_hosts(path: str) -> dict[str, str]:
    """name -> first address, from a hosts(5) file (later lines win, as the kubelet appends aliases last)."""
    names: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return names
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            for name in fields[1:]:
                names[name.lower()] = fields[0]
    return names


_HOSTS = _read_hosts(os.path.join(_ROOT, "etc", "hosts")) if _ROOT else {}
_PORTS = dict(
    pair.split("=", 1) for pair in os.environ.get("SANDBOX_POD_PORTS", "").split(",") if _ROOT and "=" in pair
)


def _published(address: str) -> str:
    """`<host>:<port>` -> `<node ip>:<nodePort>` when that port is published, else as given."""
    port = address.rsplit(":", 1)[-1]
    return _PORTS.get(port, address)


def _patch_bind(server_class: type) -> None:
    original_secure = server_class.add_secure_port
    original_insecure = server_class.add_insecure_port

    def add_secure_port(self, address, server_credentials):  # type: ignore[no-untyped-def]
        return original_secure(self, _published(address), server_credentials)

    def add_insecure_port(self, address):  # type: ignore[no-untyped-def]
        return original_insecure(self, _published(address))

    server_class.add_secure_port = add_secure_port
    server_class.add_insecure_port = add_insecure_port


def _lookup(host: object) -> str | None:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or host.lower() in ("localhost", ""):
        return None
    return _HOSTS.get(host.lower().rstrip("."))


def _patch_socket() -> None:
    original_getaddrinfo = socket.getaddrinfo
    original_gethostbyname = socket.gethostbyname

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        return original_getaddrinfo(_lookup(host) or host, *args, **kwargs)

    def gethostbyname(host):  # type: ignore[no-untyped-def]
        return original_gethostbyname(_lookup(host) or host)

    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname


def _grpc_target(target: str) -> tuple[str, str | None]:
    """(target to dial, alias) for a `host:port` target naming a hosts-file alias; else (target, None)."""
    if "://" in target or target.count(":") != 1:
        return target, None
    host, port = target.rsplit(":", 1)
    address = _lookup(host)
    if address is None:
        return target, None
    scheme = "ipv6" if ipaddress.ip_address(address).version == 6 else "ipv4"
    shown = f"[{address}]" if scheme == "ipv6" else address
    return f"{scheme}:{shown}:{port}", host


def _patch_grpc(grpc: object) -> None:
    original_secure = grpc.secure_channel  # type: ignore[attr-defined]
    original_insecure = grpc.insecure_channel  # type: ignore[attr-defined]

    def secure_channel(target, credentials, options=None, compression=None):  # type: ignore[no-untyped-def]
        dialled, alias = _grpc_target(target)
        if alias is not None:
            options = [*(options or ()), ("grpc.ssl_target_name_override", alias), ("grpc.default_authority", target)]
        return original_secure(dialled, credentials, options, compression)

    def insecure_channel(target, options=None, compression=None):  # type: ignore[no-untyped-def]
        dialled, alias = _grpc_target(target)
        if alias is not None:
            options = [*(options or ()), ("grpc.default_authority", target)]
        return original_insecure(dialled, options, compression)

    grpc.secure_channel = secure_channel  # type: ignore[attr-defined]
    grpc.insecure_channel = insecure_channel  # type: ignore[attr-defined]
    if _PORTS:
        import grpc._server  # only once grpc itself is imported
        import grpc.aio._server

        _patch_bind(grpc._server._Server)
        _patch_bind(grpc.aio._server.Server)


class _PatchGrpcOnImport(importlib.abc.MetaPathFinder):
    """Lets `grpc` import as usual, then wraps its channel constructors."""

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != "grpc":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module  # type: ignore[attr-defined]

        def exec_module(module):  # type: ignore[no-untyped-def]
            original_exec(module)
            _patch_grpc(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if _HOSTS or _PORTS:
    _patch_socket()
    sys.meta_path.insert(0, _PatchGrpcOnImport())
