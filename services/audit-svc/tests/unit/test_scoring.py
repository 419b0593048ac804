"""The 第三十八条 scoring rules as plain functions: the three indicator rules, what is not applicable, the weighted
means, rounding, the ranking with ties, and the validation of a configuration."""

from __future__ import annotations

import copy
from fractions import Fraction

from audit_svc import scoring, supervision


def ratio(numerator: list[str], denominator: list[str]) -> dict:
    return {"rule": "ratio", "numerator": numerator, "denominator": denominator}


def test_a_ratio_scores_the_share_and_is_not_applicable_without_a_denominator():
    rule = ratio(["corrections_on_time"], ["corrections_received"])
    assert scoring.indicator_score(rule, {"corrections_on_time": 3, "corrections_received": 4}) == (
        Fraction(3, 4),
        Fraction(75),
        "3 / 4",
    )
    assert scoring.indicator_score(rule, {"corrections_on_time": 5, "corrections_received": 4})[1] == 100  # capped
    assert scoring.indicator_score(rule, {})[1] is None


def test_a_complement_counts_what_went_wrong_even_beyond_the_year_s_denominator():
    rule = {"rule": "complement", "numerator": ["catalog_updates_late"], "denominator": ["catalog_update_triggers"]}
    assert scoring.indicator_score(rule, {"catalog_updates_late": 1, "catalog_update_triggers": 4})[1] == 75
    # A trigger of the year before went late this year, none recorded this year: all that was due went wrong.
    assert scoring.indicator_score(rule, {"catalog_updates_late": 1})[1] == 0
    assert scoring.indicator_score(rule, {})[1] is None


def test_a_deduction_takes_points_per_case_down_to_zero_and_needs_a_basis_when_it_names_one():
    rule = {"rule": "deduction", "counted": ["violations_calls_outside_grant"], "points": 30, "basis": ["grants_held"]}
    assert scoring.indicator_score(rule, {"violations_calls_outside_grant": 2})[1] == 40
    assert scoring.indicator_score(rule, {"violations_calls_outside_grant": 4})[1] == 0
    assert scoring.indicator_score(rule, {"grants_held": 1})[1] == 100
    assert scoring.indicator_score(rule, {})[1] is None  # no grant, no call outside one: nothing to evaluate
    assert scoring.indicator_score({**rule, "basis": []}, {})[1] == 100


def test_what_is_not_applicable_gives_its_weight_to_the_rest_and_the_total_rounds_half_up():
    config = {
        "dimensions": {
            "aggregation": {
                "weight": 50,
                "indicators": {
                    "a": {
                        "label": "a",
                        "article": "第十二条",
                        "weight": 25,
                        **ratio(["resources_published"], ["catalog_submissions"]),
                    },
                    "b": {
                        "label": "b",
                        "article": "第十八条",
                        "weight": 75,
                        **ratio(["data_refreshes_on_time"], ["data_refreshes"]),
                    },
                },
            },
            "sharing": {
                "weight": 50,
                "indicators": {
                    "c": {
                        "label": "c",
                        "article": "第二十九条",
                        "weight": 100,
                        **ratio(["grants_used"], ["grants_held"]),
                    }
                },
            },
        }
    }
    # a: 7/8 → 87.5 alone in its dimension (b has no refreshes); c: 1/3 → 33.333…; total (87.5 + 33.333…) / 2.
    result = scoring.evaluate(
        config, {"resources_published": 7, "catalog_submissions": 8, "grants_used": 1, "grants_held": 3}
    )
    aggregation = result["dimensions"]["aggregation"]
    assert (aggregation["score"], aggregation["indicators"]["a"]["effective_weight"]) == (87.5, 100.0)
    b = aggregation["indicators"]["b"]
    assert (b["applicable"], b["score"], b["effective_weight"], b["basis"]) == (False, None, 0.0, "0 / 0")
    assert result["dimensions"]["sharing"]["score"] == 33.33 and result["total"] == 60.42  # 60.41666… → 60.42
    assert scoring.shown(Fraction(82125, 1000)) == 82.13  # half up, not to even
    assert scoring.evaluate(config, {})["total"] is None


def test_equal_totals_share_a_rank_and_the_next_one_skips():
    rows = [{"dept": d, "total": t} for d, t in (("C", 80.0), ("A", 91.5), ("B", 91.5), ("D", None), ("E", 12.0))]
    assert [(r["dept"], r["rank"]) for r in scoring.rank(rows)] == [
        ("A", 1),
        ("B", 1),
        ("C", 3),
        ("E", 4),
        ("D", None),
    ]


def test_the_defaults_are_valid_and_read_only_known_figures():
    assert scoring.validate(scoring.DEFAULT_CONFIG) == []
    assert list(scoring.DEFAULT_CONFIG["dimensions"]) == list(scoring.DIMENSIONS)
    assert scoring.normalised(scoring.DEFAULT_CONFIG) == scoring.DEFAULT_CONFIG
    used = {
        code
        for d in scoring.DEFAULT_CONFIG["dimensions"].values()
        for i in d["indicators"].values()
        for role in scoring.ROLES
        for code in i.get(role, [])
    }
    assert used <= set(supervision.FIGURE_CODES)


def test_validation_names_each_field_and_rule():
    config = copy.deepcopy(scoring.DEFAULT_CONFIG)
    config["dimensions"]["sharing"]["indicators"]["data_call_service"]["weight"] = 50  # 110 in the dimension
    config["dimensions"]["security"]["indicators"]["late_corrections"]["points"] = None
    config["dimensions"]["application"]["indicators"]["grant_use"]["counted"] = ["grants_used"]
    config["dimensions"]["application"]["indicators"]["Bad-Code"] = config["dimensions"]["application"][
        "indicators"
    ].pop("correction_timeliness")
    found = {(e["field"], e["rule"]) for e in scoring.validate(config)}
    assert found == {
        ("dimensions.sharing.indicators", "weights_sum_100"),
        ("dimensions.security.indicators.late_corrections.points", "positive"),
        ("dimensions.application.indicators.grant_use.counted", "not_for_rule"),
        ("dimensions.application.indicators.Bad-Code", "code_pattern"),
    }
