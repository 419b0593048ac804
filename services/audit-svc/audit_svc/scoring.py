"""第三十八条 评价 as plain functions: the indicators and weights (a configuration the bureau may change, versioned by
`evaluation.py`), its validation, each department's scores and the ranking.

A configuration names, for each of the four dimensions of 第三十八条 (汇聚、共享、应用、安全), its weight in the total
and its indicators; an indicator turns supervision figures (`supervision.FIGURES`) into a score from 0 to 100 by one
of three rules:

- `ratio`:      100 × Σnumerator ÷ Σdenominator (at most 100); not applicable when the denominator is 0.
- `complement`: 100 × (1 − Σnumerator ÷ max(Σdenominator, Σnumerator)); not applicable when both are 0. For "how
                many of them went wrong", e.g. late catalog updates of the year's triggers (a trigger of the year
                before that went late this year makes the numerator larger than the denominator: then all went wrong).
- `deduction`:  100 − points × Σcounted (at least 0); with `basis` figures, not applicable when they and the counted
                figures are all 0 (a department with no grants cannot have called outside one).

A dimension's score is the weighted mean of its applicable indicators, the total the weighted mean of the applicable
dimensions: an indicator with nothing to measure gives its weight to the others of its dimension in proportion
(不适用的指标不计分，其权重按比例分给同一维度的其他指标), a dimension with none applicable likewise in the total.
A department with nothing applicable at all has no total and no rank. Scores are computed exactly (fractions) and
shown rounded half up to two decimals; the ranking compares the shown totals, and equal totals share a rank (1, 1, 3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from audit_svc.supervision import FIGURES

ARTICLE = "第三十八条"
DIMENSIONS: dict[str, str] = {"aggregation": "汇聚", "sharing": "共享", "application": "应用", "security": "安全"}
RULES = ("ratio", "complement", "deduction")
FIGURE_INFO = {f.code: f for f in FIGURES}
HUNDRED = Fraction(100)
CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _ratio(label: str, article: str, weight: float, numerator: list[str], denominator: list[str]) -> dict[str, Any]:
    return {
        "label": label,
        "article": article,
        "rule": "ratio",
        "weight": weight,
        "numerator": numerator,
        "denominator": denominator,
    }


# The defaults (configuration version 1, written by migration 0005). Why these weights: README "考核评价".
DEFAULT_CONFIG: dict[str, Any] = {
    "dimensions": {
        # 汇聚 weighs most: every other dimension rests on a complete, current catalog, and 第十三条 makes the
        # responsibility list "an important part" of the evaluation.
        "aggregation": {
            "weight": 35,
            "indicators": {
                # 第十三条: the share of the department's 责任清单 entries its published catalog carries at year end
                # (catalog completeness against what the bureau assigned; 第四十一条(一) 瞒报、漏报).
                "responsibility_fulfilment": _ratio(
                    "责任清单落实率", "第十三条", 40, ["responsibilities_met"], ["responsibilities_in_force"]
                ),
                # 第十二条: how much of what the department submitted passed the bureau's review (catalog quality).
                "catalog_approval": _ratio(
                    "目录审核通过率", "第十二条", 20, ["resources_published"], ["catalog_submissions"]
                ),
                # 第十四条第一款: updates applied for within 10 working days of a change of law or duties.
                "catalog_update_timeliness": {
                    "label": "目录按时更新率",
                    "article": "第十四条第一款",
                    "rule": "complement",
                    "weight": 20,
                    "numerator": ["catalog_updates_late"],
                    "denominator": ["catalog_update_triggers"],
                },
                # 第十八条: refreshes on time of all refresh due dates (a missed due date counts once).
                "data_refresh_timeliness": _ratio(
                    "数据按时更新率",
                    "第十八条",
                    20,
                    ["data_refreshes_on_time"],
                    ["data_refreshes_on_time", "data_refreshes_late"],
                ),
            },
        },
        # 共享 is the platform's purpose (第二十五条 以共享为原则): deciding requests in time counts most.
        "sharing": {
            "weight": 30,
            "indicators": {
                # 第二十九条: 5 working days for the provider, 3 for the platform; each stage decided on time, of all
                # stages decided or overdue (a stage overdue and then decided late missed one deadline).
                "share_decision_timeliness": _ratio(
                    "共享审批按时率",
                    "第二十九条",
                    60,
                    ["share_decisions_on_time"],
                    ["share_decisions_on_time", "share_deadlines_missed"],
                ),
                # 第二十九条: data calls to the department's interfaces answered by its system.
                "data_call_service": _ratio(
                    "数据接口服务成功率",
                    "第二十九条",
                    40,
                    ["data_calls_served"],
                    ["data_calls_served", "data_calls_failed"],
                ),
            },
        },
        # 应用: data obtained is used (第二十九条第三款: grants unused for three months may be taken back), and
        # doubtful data is checked in time (第十九条).
        "application": {
            "weight": 20,
            "indicators": {
                "grant_use": _ratio("授权使用率", "第二十九条第三款", 50, ["grants_used"], ["grants_held"]),
                # Each request resolved on time, of those resolved on time or late/overdue (counted once each).
                "correction_timeliness": _ratio(
                    "校核按时办结率",
                    "第十九条第二款",
                    50,
                    ["corrections_on_time"],
                    ["corrections_on_time", "violations_late_corrections"],
                ),
            },
        },
        # 安全: the 第四十一条 violations, as deductions from 100 — one case already costs much, so the dimension's
        # weight is the smallest while a violation still moves the total.
        "security": {
            "weight": 15,
            "indicators": {
                # 第四十一条(四): a refused call with a valid grant token outside the grant; 10 points each.
                "calls_outside_grant": {
                    "label": "超出授权范围调用数据",
                    "article": "第四十一条第四项",
                    "rule": "deduction",
                    "weight": 40,
                    "counted": ["violations_calls_outside_grant"],
                    "points": 10,
                    "basis": ["grants_held"],
                },
                # 第四十一条(八): applying to update the catalog late; 20 points each (rarer, and a whole resource).
                "late_catalog_updates": {
                    "label": "超过规定时间申请更新目录",
                    "article": "第四十一条第八项",
                    "rule": "deduction",
                    "weight": 20,
                    "counted": ["violations_late_catalog_updates"],
                    "points": 20,
                    "basis": ["catalog_update_triggers"],
                },
                # 第四十一条(八): correcting data late; 20 points each (a person or company waited for it).
                "late_corrections": {
                    "label": "超过规定时间校核数据",
                    "article": "第四十一条第八项",
                    "rule": "deduction",
                    "weight": 20,
                    "counted": ["violations_late_corrections"],
                    "points": 20,
                    "basis": ["corrections_received"],
                },
                # 第二十九条第二款: a provider suspends a grant it finds misused or at risk.
                "grants_not_suspended": {
                    "label": "授权未被暂停率",
                    "article": "第二十九条第二款",
                    "rule": "complement",
                    "weight": 20,
                    "numerator": ["grants_suspended"],
                    "denominator": ["grants_held"],
                },
            },
        },
    }
}


# --------------------------------------------------------------------------------------------- validation


def _weight(value: Any) -> Fraction:
    return Fraction(str(value))


def _error(field: str, rule: str, detail: str) -> dict[str, str]:
    return {"field": field, "rule": rule, "detail": detail}


def _figures_errors(field: str, codes: Sequence[str], required: bool) -> list[dict[str, str]]:
    if required and not codes:
        return [_error(field, "required", "该计分规则需要至少一项监督指标")]
    unknown = [c for c in codes if c not in FIGURE_INFO]
    if unknown:
        return [_error(field, "unknown_figure", f"未知的监督指标：{'、'.join(unknown)}")]
    return []


def _indicator_errors(field: str, indicator: Mapping[str, Any]) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if _weight(indicator["weight"]) < 0:
        errors.append(_error(f"{field}.weight", "non_negative", "权重不能为负数"))
    rule = indicator["rule"]
    fractional = rule in ("ratio", "complement")
    for name in ("numerator", "denominator"):
        errors += _figures_errors(f"{field}.{name}", indicator.get(name) or [], required=fractional)
    for name in ("counted", "basis"):
        errors += _figures_errors(
            f"{field}.{name}", indicator.get(name) or [], required=name == "counted" and not fractional
        )
    if fractional:
        for name in ("counted", "basis", "points"):
            if indicator.get(name):
                errors.append(_error(f"{field}.{name}", "not_for_rule", f"{rule} 规则不使用 {name}"))
    else:
        for name in ("numerator", "denominator"):
            if indicator.get(name):
                errors.append(_error(f"{field}.{name}", "not_for_rule", f"{rule} 规则不使用 {name}"))
        points = indicator.get("points")
        if points is None or _weight(points) <= 0:
            errors.append(_error(f"{field}.points", "positive", "扣分规则的每项扣分必须大于 0"))
    return errors


def validate(config: Mapping[str, Any]) -> list[dict[str, str]]:
    """What is wrong with `config` (already of the right shape: schemas.EvaluationConfigIn), each error naming its
    field and rule; none when it may be used."""
    dimensions: Mapping[str, Any] = config["dimensions"]
    errors: list[dict[str, str]] = []
    missing = [d for d in DIMENSIONS if d not in dimensions]
    unknown = [d for d in dimensions if d not in DIMENSIONS]
    if missing or unknown:
        errors.append(
            _error(
                "dimensions",
                "four_dimensions",
                f"评价维度应为汇聚、共享、应用、安全四项（{', '.join(DIMENSIONS)}）；"
                + (f"缺少 {', '.join(missing)}" if missing else f"未知 {', '.join(unknown)}"),
            )
        )
    seen: dict[str, str] = {}
    for code, dimension in dimensions.items():
        field = f"dimensions.{code}"
        if _weight(dimension["weight"]) < 0:
            errors.append(_error(f"{field}.weight", "non_negative", "权重不能为负数"))
        indicators: Mapping[str, Any] = dimension["indicators"]
        if not indicators:
            errors.append(_error(f"{field}.indicators", "at_least_one", "每个维度至少要有一项指标"))
            continue
        for key, indicator in indicators.items():
            here = f"{field}.indicators.{key}"
            if not CODE.match(key):
                errors.append(_error(here, "code_pattern", "指标代码只能由小写字母、数字和下划线组成，以字母开头"))
            elif key in seen:
                errors.append(_error(here, "unique", f"指标代码 {key} 已用于维度 {seen[key]}"))
            seen.setdefault(key, code)
            errors += _indicator_errors(here, indicator)
        total = sum((_weight(i["weight"]) for i in indicators.values()), Fraction(0))
        if total != HUNDRED:
            errors.append(
                _error(f"{field}.indicators", "weights_sum_100", f"维度内各指标权重之和应为 100，现为 {float(total):g}")
            )
    total = sum((_weight(d["weight"]) for d in dimensions.values()), Fraction(0))
    if total != HUNDRED:
        errors.append(_error("dimensions", "weights_sum_100", f"四个维度的权重之和应为 100，现为 {float(total):g}"))
    return errors


def normalised(config: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration with its dimensions in the order of 第三十八条 and only the fields its rules use."""
    out: dict[str, Any] = {}
    for code in DIMENSIONS:
        dimension = config["dimensions"][code]
        indicators = {}
        for key, indicator in dimension["indicators"].items():
            kept = {name: indicator[name] for name in ("label", "article", "rule", "weight")}
            names = ("numerator", "denominator") if indicator["rule"] != "deduction" else ("counted", "points", "basis")
            kept.update({name: indicator[name] for name in names if indicator.get(name) not in (None, [])})
            indicators[key] = kept
        out[code] = {"weight": dimension["weight"], "indicators": indicators}
    return {"dimensions": out}


# --------------------------------------------------------------------------------------------- describing


def _figure_names(codes: Iterable[str]) -> str:
    names = [FIGURE_INFO[c].label if c in FIGURE_INFO else c for c in codes]
    return names[0] if len(names) == 1 else "（" + " + ".join(names) + "）"


def rule_text(indicator: Mapping[str, Any]) -> str:
    """How the indicator is scored, in Chinese, for the reports and the page."""
    rule = indicator["rule"]
    if rule == "deduction":
        text = f"100 − {float(indicator['points']):g} × {_figure_names(indicator['counted'])}，最低 0 分"
        if indicator.get("basis"):
            text += f"；{_figure_names(indicator['basis'])}与扣分项均为 0 时不参评"
        return text
    numerator, denominator = _figure_names(indicator["numerator"]), _figure_names(indicator["denominator"])
    if rule == "ratio":
        return f"100 × {numerator} ÷ {denominator}；分母为 0 时不参评"
    return f"100 × （1 − {numerator} ÷ {denominator}）；两者均为 0 时不参评"


def method(config: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration as the evaluation shows it: each dimension's label and weight, each indicator's label,
    article, weight, rule and how it is scored."""
    return {
        code: {
            "label": DIMENSIONS[code],
            "weight": dimension["weight"],
            "indicators": {
                key: {
                    "label": indicator["label"],
                    "article": indicator["article"],
                    "rule": indicator["rule"],
                    "weight": indicator["weight"],
                    "rule_text": rule_text(indicator),
                }
                for key, indicator in dimension["indicators"].items()
            },
        }
        for code, dimension in config["dimensions"].items()
    }


# --------------------------------------------------------------------------------------------- scoring


def shown(value: Fraction | None, places: str = "0.01") -> float | None:
    """An exact value as shown: rounded half up (82.125 → 82.13)."""
    if value is None:
        return None
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _sum(figures: Mapping[str, int], codes: Iterable[str]) -> int:
    return sum(int(figures.get(code, 0)) for code in codes)


def indicator_score(
    indicator: Mapping[str, Any], figures: Mapping[str, int]
) -> tuple[Fraction | None, Fraction | None, str]:
    """(value, score, basis text) of one indicator on a department's figures; score None when not applicable.
    The value is the ratio for ratio and complement rules, the count for deductions."""
    rule = indicator["rule"]
    if rule == "deduction":
        counted = _sum(figures, indicator["counted"])
        basis = indicator.get("basis") or []
        if basis and counted == 0 and _sum(figures, basis) == 0:
            return None, None, "无可评价事项"
        points = _weight(indicator["points"])
        return Fraction(counted), max(Fraction(0), HUNDRED - points * counted), f"{counted} × {float(points):g} 分"
    numerator = _sum(figures, indicator["numerator"])
    denominator = _sum(figures, indicator["denominator"])
    if rule == "ratio":
        if denominator == 0:
            return None, None, f"{numerator} / 0"
        value = Fraction(numerator, denominator)
        return value, HUNDRED * min(value, Fraction(1)), f"{numerator} / {denominator}"
    base = max(denominator, numerator)
    if base == 0:
        return None, None, "0 / 0"
    value = Fraction(numerator, base)
    return value, HUNDRED * (1 - value), f"{numerator} / {base}"


def _weighted(parts: Sequence[tuple[Fraction, Fraction | None]]) -> tuple[Fraction | None, Fraction]:
    """The weighted mean of the applicable (weight, score) parts, and the sum of their weights."""
    applicable = [(w, s) for w, s in parts if s is not None and w > 0]
    weights = sum((w for w, _ in applicable), Fraction(0))
    if weights == 0:
        return None, weights
    return sum((w * s for w, s in applicable), Fraction(0)) / weights, weights


def evaluate(config: Mapping[str, Any], figures: Mapping[str, int]) -> dict[str, Any]:
    """One department's evaluation: `total` and, per dimension, its score and every indicator with its value, score,
    weight (as configured and as it counted after the weights of what was not applicable were shared out) and the
    figures it came from, each with its article."""
    dimensions: dict[str, Any] = {}
    dimension_parts: list[tuple[Fraction, Fraction | None]] = []
    for code, dimension in config["dimensions"].items():
        results = {key: indicator_score(ind, figures) for key, ind in dimension["indicators"].items()}
        parts = [(_weight(ind["weight"]), results[key][1]) for key, ind in dimension["indicators"].items()]
        score, weights = _weighted(parts)
        indicators = {}
        for key, indicator in dimension["indicators"].items():
            value, indicator_points, basis = results[key]
            counts = score is not None and indicator_points is not None and _weight(indicator["weight"]) > 0
            indicators[key] = {
                "label": indicator["label"],
                "article": indicator["article"],
                "rule": indicator["rule"],
                "rule_text": rule_text(indicator),
                "weight": indicator["weight"],
                "effective_weight": shown(_weight(indicator["weight"]) * HUNDRED / weights) if counts else 0.0,
                "applicable": indicator_points is not None,
                "value": (shown(value, "0.0001") if indicator["rule"] != "deduction" else int(value))
                if value is not None
                else None,
                "score": shown(indicator_points),
                "basis": basis,
                "figures": _sources(indicator, figures),
            }
        dimensions[code] = {
            "label": DIMENSIONS.get(code, code),
            "weight": dimension["weight"],
            "applicable": score is not None,
            "score": shown(score),
            "indicators": indicators,
        }
        dimension_parts.append((_weight(dimension["weight"]), score))
    total, _ = _weighted(dimension_parts)
    return {"total": shown(total), "dimensions": dimensions}


ROLES = ("numerator", "denominator", "counted", "basis")


def _sources(indicator: Mapping[str, Any], figures: Mapping[str, int]) -> list[dict[str, Any]]:
    """The supervision figures an indicator reads, each once, with its role, value, label and article."""
    out: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        for code in indicator.get(role) or []:
            if code in out:
                out[code]["roles"].append(role)
                continue
            info = FIGURE_INFO[code]
            out[code] = {
                "code": code,
                "label": info.label,
                "article": info.article,
                "value": int(figures.get(code, 0)),
                "roles": [role],
            }
    return list(out.values())


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` (each with `dept` and `total`) ordered by total, highest first, each given its `rank`: equal totals
    share a rank and the next one skips (1, 1, 3); a row without a total has none and comes last."""
    ordered = sorted(rows, key=lambda r: (r["total"] is None, -(r["total"] or 0), r["dept"]))
    current, previous = 0, None
    for place, row in enumerate(ordered, start=1):
        if row["total"] is None:
            row["rank"] = None
            continue
        if row["total"] != previous:
            current, previous = place, row["total"]
        row["rank"] = current
    return ordered
