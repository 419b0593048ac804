"""How a registered interface reads to the gateway and in events: fields the provider left out take their defaults,
what the provider gave (the credential reference too) stays as given."""

from __future__ import annotations

from catalog_svc.domain import interface_with_defaults
from catalog_svc.schemas import Interface


def test_fields_left_out_take_the_defaults_of_the_interface_schema():
    assert interface_with_defaults({"base_url": "http://x/"}) == {
        "base_url": "http://x/",
        "methods": ["GET"],
        "path_prefixes": ["/"],
        "rate_limit": 20,
    }
    schema = Interface.model_validate({"base_url": "http://x/"}).model_dump(mode="json")
    assert {k: v for k, v in schema.items() if k != "credential_ref"} == interface_with_defaults(
        {"base_url": "http://x/"}
    )


def test_given_fields_are_kept_and_defaults_are_not_shared_between_interfaces():
    given = {"base_url": "http://x/", "methods": ["POST"], "rate_limit": 5, "credential_ref": "vault:x"}
    filled = interface_with_defaults(given)
    assert filled == {**given, "path_prefixes": ["/"]}
    assert "path_prefixes" not in given  # the stored value is not changed
    filled["path_prefixes"].append("/more")
    assert interface_with_defaults({"base_url": "http://y/"})["path_prefixes"] == ["/"]


def test_no_interface_stays_none():
    assert interface_with_defaults(None) is None
    assert interface_with_defaults({}) is None
