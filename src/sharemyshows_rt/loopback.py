"""Whether an address to listen on is reachable from this host only."""

from __future__ import annotations

import ipaddress
import socket


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback one (127.0.0.0/8, ::1); a name
    is resolved, and one that does not resolve is not loopback."""
    name = host.strip().removeprefix("[").removesuffix("]")
    if not name:
        return False  # "" listens on every address
    try:
        return _loopback(name)
    except ValueError:
        pass  # a host name
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(_loopback(str(info[4][0])) for info in found)


def _loopback(text: str) -> bool:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # ::ffff:127.0.0.1
    return address.is_loopback
