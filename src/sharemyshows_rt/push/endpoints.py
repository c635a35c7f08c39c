"""Which push endpoints the server may reach: never its own network (SSRF). One policy for
the URL (at subscribe time and again before each send) and for every address a push
service's name resolves to (at connect time, see `InsideRefusingResolver`)."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
# Shared address space (RFC 6598): not "private" to `ipaddress`, never a push service.
SHARED = ipaddress.ip_network("100.64.0.0/10")


class EndpointRefused(ValueError):
    """An endpoint the server must not reach; the message says why, for the user."""


def origin(url: URL) -> str:
    """`scheme://host[:port]`, lower-case, the port only when not the scheme's default."""
    host = url.raw_host or ""
    if ":" in host:
        host = f"[{host}]"
    port = "" if url.explicit_port is None or url.is_default_port() else f":{url.explicit_port}"
    return f"{url.scheme}://{host}{port}".lower()


def normal_origin(text: str) -> str:
    """An origin as configured (PUSH_ENDPOINT_ALLOWLIST), in the form `origin` compares."""
    return origin(URL(text.strip()))


def is_inside(address: IPAddress) -> bool:
    """Loopback, private, link-local, unique-local, shared, unspecified, multicast or
    reserved: anything not on the public internet, IPv4 carried in IPv6 included."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_inside(embedded)
    return (
        not address.is_global
        or address.is_reserved
        or address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address in SHARED
    )


def literal_address(host: str) -> IPAddress | None:
    """The address a host names by itself, in every spelling resolvers accept (`127.1`,
    `2130706433`, `0x7f.1`, `017700000001`, IPv6); None for a name."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise EndpointRefused("endpoint host is not a valid IPv6 address") from None
    if not NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise EndpointRefused("endpoint host is not a valid IPv4 address") from None


class InsideAddress(OSError):
    """A push service's name resolved to an address inside: never connected to."""


class EndpointPolicy:
    """Allowed: an origin of PUSH_ENDPOINT_ALLOWLIST, or an `https://` URL without user
    info whose host is a public name matching PUSH_SERVICE_HOSTS (`*` for any)."""

    def __init__(self, allowed_origins: list[str], service_hosts: list[str]) -> None:
        self._allowed = {normal_origin(text) for text in allowed_origins}
        self._any_host = "*" in service_hosts
        self._hosts = {host.lower().rstrip(".") for host in service_hosts if host != "*"}

    def allow_listed(self, url: URL) -> bool:
        """The operator's own push service: exempt from every other rule."""
        return origin(url) in self._allowed

    def check(self, endpoint: str) -> URL:
        """The parsed endpoint; EndpointRefused if the server must not send there."""
        try:
            url = URL(endpoint)
        except ValueError:
            raise EndpointRefused("endpoint must be an absolute URL") from None
        if not url.is_absolute() or not url.raw_host:
            raise EndpointRefused("endpoint must be an absolute URL")
        if "@" in (url.raw_authority or "") or "@" in urlsplit(endpoint).netloc:
            raise EndpointRefused("endpoint must not carry user info")
        if self.allow_listed(url):
            return url
        if url.scheme != "https":
            raise EndpointRefused(
                "endpoint must be an https:// URL (or an origin in PUSH_ENDPOINT_ALLOWLIST)"
            )
        host = url.raw_host.lower().rstrip(".")
        address = literal_address(host)
        if address is not None:
            if is_inside(address):
                raise EndpointRefused("endpoint must not point into a private network")
            raise EndpointRefused("endpoint host must be a push service's name")
        labels = host.split(".")
        if not all(LABEL.match(label) for label in labels):
            raise EndpointRefused("endpoint host is not a valid host name")
        if labels[-1] in ("localhost", "localdomain", "internal", "local"):
            raise EndpointRefused("endpoint must not point into a private network")
        if not self._any_host and not self._known(host):
            raise EndpointRefused("endpoint is not at a known push service (PUSH_SERVICE_HOSTS)")
        return url

    def _known(self, host: str) -> bool:
        return any(
            host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            for pattern in self._hosts
        )


class InsideRefusingResolver(AbstractResolver):
    """The system resolver, refusing a name with any address inside: the connection then
    goes to an address that was checked (TLS and Host still use the name)."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            if is_inside(ipaddress.ip_address(result["host"].split("%", 1)[0])):
                raise InsideAddress(
                    f"{host} resolves to an address inside ({result['host']}): refused"
                )
        return results

    async def close(self) -> None:
        await self._resolver.close()
