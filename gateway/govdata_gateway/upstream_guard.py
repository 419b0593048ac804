"""The upstream allow-list at the gateway (API.md "Data plane", govdata_shared.upstream): the data plane never
connects outside `GOVDATA_UPSTREAM_ALLOWED_NETWORKS`, whatever catalog-svc accepted at registration and whatever
DNS answers now.

- Names: the data plane's aiohttp connector resolves through `GuardedResolver`, which drops every refused address
  of the answer and raises `UpstreamRefused` when none is left. The check is on the addresses the connection
  will use, after resolution, so a name re-pointed at 169.254.169.254 or at loopback after registration (DNS
  rebinding) is refused. aiohttp wraps the error in `ClientConnectorDNSError` (its `os_error` is ours).
- IP literals: aiohttp's TCPConnector does not call the resolver for a host that is an IP address
  (connector.py `_resolve_host`: `if is_ip_address(host): return [...]`), so the handler asks
  `literal_refusal(base_url)` before forwarding — a dictionary lookup per call once the base URL was judged.

A refused call is 502 `upstream_not_allowed`; its detail never names the address (the caller is not the
provider and may not learn where the provider's system is), the log does.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from govdata_shared.upstream import BAD_URL, Refusal, UpstreamPolicy
from prometheus_client import Counter

from govdata_gateway.settings import GatewaySettings

log = logging.getLogger("govdata.gateway.upstream")

REFUSED_DETAIL = "数据提供方接口地址不在平台允许接入的网络范围内，网关不予连接；请提供部门联系县政务服务和大数据管理局"
UPSTREAM_REFUSALS = Counter(
    "govdata_gateway_upstream_refusals_total",
    "Data calls not forwarded because the provider's address is outside the upstream allow-list",
    ["rule"],
)
_LITERAL_CACHE_MAX = 10_000


class UpstreamRefused(OSError):
    """Every address the upstream's name resolved to is outside the allow-list (or always refused)."""

    def __init__(self, host: str, refusals: list[Refusal]) -> None:
        super().__init__(f"{host}: no allowed address ({'; '.join(r.rule for r in refusals) or 'no address'})")
        self.host = host
        self.refusals = refusals


class GuardedResolver(AbstractResolver):
    """aiohttp's default resolver, keeping only the addresses the allow-list allows."""

    def __init__(self, policy: UpstreamPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self.inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        refusals: list[Refusal] = []
        for answer in answers:
            refused = self.policy.refusal(answer["host"])
            if refused is None:
                kept.append(answer)
            else:
                refusals.append(refused)
        if refusals:
            log.warning(
                "upstream %s resolved to refused addresses %s",
                host,
                sorted({a["host"] for a in answers} - {a["host"] for a in kept}),
            )
        if not kept:
            UPSTREAM_REFUSALS.labels(refusals[0].rule if refusals else BAD_URL).inc()
            raise UpstreamRefused(host, refusals)
        return kept

    async def close(self) -> None:
        await self.inner.close()


class UpstreamGuard:
    """The allow-list as the data plane uses it: a resolver for its connector, and the check of IP literals."""

    def __init__(self, policy: UpstreamPolicy) -> None:
        self.policy = policy
        self._literals: dict[str, Refusal | None] = {}

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> UpstreamGuard:
        return cls(UpstreamPolicy.parse(settings.govdata_upstream_allowed_networks))

    def resolver(self) -> GuardedResolver:
        """A resolver for the data plane's TCPConnector (create it inside the running loop)."""
        return GuardedResolver(self.policy)

    def literal_refusal(self, base_url: str) -> Refusal | None:
        """Why `base_url`'s host, when it is an IP address, may not be connected to; None for an allowed address
        and for a name (the resolver judges those). Judged once per base URL; each refused call is counted."""
        try:
            refused = self._literals[base_url]
        except KeyError:
            refused = self._judge_literal(base_url)
            if len(self._literals) >= _LITERAL_CACHE_MAX:
                self._literals.clear()
            self._literals[base_url] = refused
        if refused is not None:
            UPSTREAM_REFUSALS.labels(refused.rule).inc()
        return refused

    def _judge_literal(self, base_url: str) -> Refusal | None:
        try:
            host = urlsplit(base_url).hostname
        except ValueError:
            host = None
        if not host:
            refused: Refusal | None = Refusal(BAD_URL, "no host")
        else:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                return None  # a name: the resolver judges the addresses it resolves to
            refused = self.policy.refusal(host)
        if refused is not None:
            log.warning("upstream %s refused by the allow-list: %s", base_url, refused.rule)
        return refused


def refused_by_allow_list(exc: BaseException) -> bool:
    """True for aiohttp's wrapping of the resolver's `UpstreamRefused` (ClientConnectorError.os_error)."""
    return isinstance(getattr(exc, "os_error", None), UpstreamRefused)
