"""The shared state machine: the table decides, and a refused step is a 409 in the bureau's words."""

from __future__ import annotations

from enum import StrEnum

import pytest
from govdata_shared.errors import Problem
from govdata_shared.states import Refusal, StateMachine


class Light(StrEnum):
    OFF = "off"
    ON = "on"
    BROKEN = "broken"


LIGHT = StateMachine(
    {(Light.OFF, "switch_on"): Light.ON, (Light.ON, "switch_off"): Light.OFF},
    status_labels={Light.OFF: "关", Light.ON: "开", Light.BROKEN: "损坏"},
    action_labels={"switch_on": "打开", "switch_off": "关闭"},
    refusals={(Light.BROKEN, "switch_on"): Refusal("repair_first", "灯已损坏，须先维修")},
)


def test_a_step_in_the_table_gives_the_next_status_also_from_a_plain_string():
    assert LIGHT.next("off", "switch_on") is Light.ON
    assert LIGHT.next(Light.ON, "switch_off") is Light.OFF
    assert LIGHT.allows("off", "switch_on") and not LIGHT.allows("on", "switch_on")


def test_a_step_outside_the_table_is_409_naming_state_and_action_in_chinese():
    with pytest.raises(Problem) as refused:
        LIGHT.next("on", "switch_on")
    problem = refused.value
    assert (problem.status, problem.code) == (409, "invalid_transition")
    assert problem.detail == "当前状态为“开”，不能打开"
    assert problem.extra == {"status_now": "on", "action": "switch_on"}


def test_a_named_refusal_says_its_rule_in_its_own_words():
    with pytest.raises(Problem) as refused:
        LIGHT.next("broken", "switch_on")
    assert refused.value.detail == "灯已损坏，须先维修"
    assert refused.value.rule == "repair_first"
