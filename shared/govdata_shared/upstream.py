"""The upstream allow-list (API.md "Data plane", `GOVDATA_UPSTREAM_ALLOWED_NETWORKS`): where a resource's
`interface.base_url` may point, so that neither a provider's registration nor a DNS answer turns the gateway
against the platform's own network (SSRF: cloud metadata, cluster services, the gateway's loopback).

- The setting is a comma-separated list of CIDRs (IPv4 and IPv6); an empty list allows nothing.
- Link-local (169.254.0.0/16, fe80::/10 — where cloud metadata answers), unspecified (0.0.0.0/8, ::), multicast
  and broadcast addresses are refused whatever the list says.
- An IPv4-mapped IPv6 address (::ffff:a.b.c.d) and a NAT64 one (64:ff9b::a.b.c.d) are judged by the IPv4
  address they reach.
- A URL naming a host by name is judged by every address the name resolves to (`check_url`): catalog-svc refuses
  a registration when any of them is refused, or when the name does not resolve at all (a provider registers a
  system the gateway can reach). The gateway judges again at every connection, after its own resolution
  (govdata_gateway.upstream_guard), so a name re-pointed after registration does not get through either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "GOVDATA_UPSTREAM_ALLOWED_NETWORKS"
# `make run` and the demo provider live on loopback; Kubernetes overlays name the e-government extranet instead.
DEFAULT_ALLOWED_NETWORKS = "127.0.0.0/8,::1/128"
RESOLVE_TIMEOUT_SECONDS = 5.0

_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # "this host": connecting to 0.x reaches the local machine
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# rule names (the `rule` of the 422's errors[]; the gateway logs them)
ALWAYS_REFUSED = "address_always_refused"
OUTSIDE = "outside_allowed_networks"
UNRESOLVABLE = "host_unresolvable"
BAD_URL = "url_not_allowed"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an address or URL may not be an upstream: `rule` for programs, `detail` (Chinese) for people."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def parse_networks(text: str, setting: str = SETTING) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDRs (IPv4, IPv6) of the setting named `setting`; ValueError naming the bad
    entry (a clear start-up error)."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{setting}: '{item}' is not an IPv4 or IPv6 network in CIDR notation") from None
    return tuple(networks)


def _address(value: str | Address) -> Address | None:
    if not isinstance(value, str):
        return value
    try:
        return ipaddress.ip_address(value.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def _reached(address: Address) -> Address:
    """The address a connection really reaches: the IPv4 one inside a mapped or NAT64 IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def always_refused(address: Address) -> str | None:
    """Why `address` is never an upstream whatever the list says (Chinese), or None."""
    reached = _reached(address)
    for candidate in {address, reached}:
        if candidate.is_link_local:
            return "链路本地地址（169.254.0.0/16、fe80::/10，云平台元数据等内部服务所在）"
        if candidate.is_unspecified or candidate in _THIS_NETWORK:
            return "未指定地址（0.0.0.0、::）"
        if candidate.is_multicast or candidate == _BROADCAST:
            return "组播或广播地址"
    return None


class UpstreamPolicy:
    """The allow-list: `refusal(address)` for one IP, `check_url(url)` for a URL (resolving names)."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)

    @classmethod
    def parse(cls, text: str) -> UpstreamPolicy:
        return cls(parse_networks(text))

    def __repr__(self) -> str:
        return f"UpstreamPolicy({','.join(map(str, self.networks)) or 'nothing'})"

    def refusal(self, address: str | Address) -> Refusal | None:
        """None when a connection to `address` (an IP, with or without [], IPv6 scope allowed) is allowed."""
        ip = _address(address)
        if ip is None:
            return Refusal(BAD_URL, f"{address} 不是 IP 地址")
        never = always_refused(ip)
        if never is not None:
            return Refusal(ALWAYS_REFUSED, f"地址 {ip} 属于{never}，不允许作为数据提供方接口地址")
        reached = _reached(ip)
        if not any(reached.version == net.version and reached in net for net in self.networks):
            return Refusal(
                OUTSIDE,
                f"地址 {ip} 不在平台允许接入的网络范围内；请使用电子政务外网中已登记的地址，"
                "或请县政务服务和大数据管理局确认可接入的网段",
            )
        return None

    async def check_url(
        self,
        url: str,
        *,
        resolve: Callable[[str], Awaitable[list[str]]] | None = None,
        timeout: float = RESOLVE_TIMEOUT_SECONDS,
    ) -> Refusal | None:
        """None when `url` is http(s) on a host whose every address is allowed; a name is resolved (all its
        addresses, IPv4 and IPv6) and refused when it does not resolve within `timeout`."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return Refusal(BAD_URL, "接口地址不是有效的 URL")
        if parts.scheme not in ("http", "https") or not host:
            return Refusal(BAD_URL, "接口地址必须是 http 或 https 地址，并写明主机")
        if _address(host) is not None:
            return self.refusal(host)
        try:
            addresses = await asyncio.wait_for((resolve or resolve_all)(host), timeout)
        except (OSError, TimeoutError, UnicodeError):
            addresses = []
        if not addresses:
            return Refusal(UNRESOLVABLE, f"主机名 {host} 无法解析为 IP 地址；请登记网关能够访问的接口地址")
        for address in addresses:
            refused = self.refusal(address)
            if refused is not None:
                return Refusal(refused.rule, f"主机名 {host} 解析到的{refused.detail}")
        return None


async def resolve_all(host: str) -> list[str]:
    """Every address `host` resolves to, IPv4 and IPv6 (not only those this machine could reach)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
