"""The upstream allow-list (govdata_shared.upstream): which addresses and URLs a provider's interface may point at."""

from __future__ import annotations

import asyncio
import re

import pytest
import yaml
from govdata_shared.settings import REPO_ROOT, Settings
from govdata_shared.upstream import (
    ALWAYS_REFUSED,
    BAD_URL,
    OUTSIDE,
    UNRESOLVABLE,
    UpstreamPolicy,
    parse_networks,
)
from pydantic import ValidationError

EXTRANET = UpstreamPolicy.parse("10.0.0.0/8, 59.207.0.0/16, 2001:db8::/32")
EVERYTHING = UpstreamPolicy.parse("0.0.0.0/0,::/0")


def test_the_setting_parses_ipv4_and_ipv6_and_names_a_bad_entry() -> None:
    assert [str(n) for n in parse_networks(" 10.0.0.0/8 ,, fd00::/8,192.168.1.7 ")] == [
        "10.0.0.0/8",
        "fd00::/8",
        "192.168.1.7/32",
    ]
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33'")):
        parse_networks("10.0.0.0/8,10.0.0.0/33")


def test_a_bad_cidr_stops_the_process_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVDATA_UPSTREAM_ALLOWED_NETWORKS", "10.0.0.0/8,extranet")
    with pytest.raises(ValidationError, match="GOVDATA_UPSTREAM_ALLOWED_NETWORKS: 'extranet'"):
        Settings()
    monkeypatch.delenv("GOVDATA_UPSTREAM_ALLOWED_NETWORKS")
    # Unset: loopback only, for `make run` and its demo provider on 127.0.0.1:8900.
    default = UpstreamPolicy.parse(Settings().govdata_upstream_allowed_networks)
    assert default.refusal("127.0.0.1") is None and default.refusal("::1") is None
    assert default.refusal("10.1.2.3").rule == OUTSIDE


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # cloud metadata
        "169.254.0.1",
        "fe80::1",
        "fe80::1%eth0",
        "[fe80::a9fe:a9fe]",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "0.0.0.0",
        "0.1.2.3",  # "this network": reaches the local machine
        "::",
        "::ffff:0.0.0.0",
        "224.0.0.1",
        "ff02::1",
        "255.255.255.255",
    ],
)
def test_link_local_unspecified_multicast_and_broadcast_are_refused_whatever_the_list_says(address: str) -> None:
    refused = EVERYTHING.refusal(address)
    assert refused is not None and refused.rule == ALWAYS_REFUSED, address
    assert refused.detail and not refused.detail.isascii()


def test_inside_and_outside_the_list() -> None:
    assert EXTRANET.refusal("10.20.30.40") is None
    assert EXTRANET.refusal("59.207.1.2") is None
    assert EXTRANET.refusal("[2001:db8::7]") is None
    assert EXTRANET.refusal("::ffff:10.1.1.1") is None  # judged by the IPv4 address it reaches
    for outside in ("127.0.0.1", "::1", "192.168.1.1", "59.208.0.1", "2001:db9::1", "::ffff:127.0.0.1"):
        refused = EXTRANET.refusal(outside)
        assert refused is not None and refused.rule == OUTSIDE, outside
    assert UpstreamPolicy.parse("").refusal("10.1.1.1").rule == OUTSIDE  # an empty list allows nothing
    assert EXTRANET.refusal("not-an-ip").rule == BAD_URL


async def test_urls_with_ip_literals() -> None:
    assert await EXTRANET.check_url("http://10.1.2.3:8080/population") is None
    assert await EXTRANET.check_url("https://[2001:db8::5]/x") is None
    assert (await EXTRANET.check_url("http://169.254.169.254/latest/meta-data/")).rule == ALWAYS_REFUSED
    assert (await EXTRANET.check_url("http://[::]/")).rule == ALWAYS_REFUSED
    assert (await EXTRANET.check_url("http://127.0.0.1:8900/")).rule == OUTSIDE
    assert (await EXTRANET.check_url("ftp://10.1.2.3/")).rule == BAD_URL
    assert (await EXTRANET.check_url("http:///nohost")).rule == BAD_URL


async def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    answers = {
        "ga.extranet.example": ["10.1.2.3", "2001:db8::3"],
        "split.example": ["10.1.2.3", "169.254.169.254"],  # one bad address is enough to refuse
        "inside-out.example": ["10.1.2.3", "192.168.1.1"],
    }

    async def resolve(host: str) -> list[str]:
        if host not in answers:
            raise OSError(-2, "Name or service not known")
        return answers[host]

    assert await EXTRANET.check_url("http://ga.extranet.example/x", resolve=resolve) is None
    refused = await EXTRANET.check_url("http://split.example/", resolve=resolve)
    assert refused.rule == ALWAYS_REFUSED and "split.example" in refused.detail and "169.254.169.254" in refused.detail
    assert (await EXTRANET.check_url("http://inside-out.example/", resolve=resolve)).rule == OUTSIDE
    refused = await EXTRANET.check_url("http://nowhere.example/", resolve=resolve)
    assert refused.rule == UNRESOLVABLE and "nowhere.example" in refused.detail


async def test_a_name_that_does_not_resolve_in_time_is_refused() -> None:
    async def slow(host: str) -> list[str]:
        await asyncio.sleep(5)
        return ["10.1.2.3"]

    assert (await EXTRANET.check_url("http://slow.example/", resolve=slow, timeout=0.05)).rule == UNRESOLVABLE


async def test_real_resolution_of_localhost_and_of_a_reserved_name() -> None:
    loopback = UpstreamPolicy.parse("127.0.0.0/8,::1/128")
    assert await loopback.check_url("http://localhost:8900/") is None
    assert (await EXTRANET.check_url("http://localhost:8900/")).rule == OUTSIDE
    # RFC 6761: .invalid never resolves.
    assert (await EXTRANET.check_url("http://no-such-system.invalid/")).rule == UNRESOLVABLE


def test_the_kubernetes_overlays_give_catalog_gateway_and_notify_the_same_parsable_example() -> None:
    for overlay in ("production", "staging"):
        path = REPO_ROOT / "deploy" / "k8s" / "overlays" / overlay / "upstream-networks.yaml"
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        configs = [d for d in docs if d["kind"] == "ConfigMap"]  # the NetworkPolicies: test_k8s_manifests.py
        values = {d["metadata"]["name"]: d["data"]["GOVDATA_UPSTREAM_ALLOWED_NETWORKS"] for d in configs}
        assert set(values) == {"gateway-config", "catalog-svc-config", "notify-svc-config"}
        assert len(set(values.values())) == 1, values  # both sides of the check say the same
        policy = UpstreamPolicy.parse(values["gateway-config"])
        assert policy.networks and policy.refusal("127.0.0.1") is not None
        assert policy.refusal("169.254.169.254").rule == ALWAYS_REFUSED
