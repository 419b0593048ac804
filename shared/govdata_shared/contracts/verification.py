"""Events of verification-svc (topic govdata.verification.v1): correction requests (校核, 第十九条)."""

from __future__ import annotations

from govdata_shared.contracts import EventData, event_contract  # noqa: F401 - used as the contracts are added
