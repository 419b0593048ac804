"""Validation messages in Chinese, for every error type pydantic reports.

Pydantic's own messages are English ("Field required"); a problem's `detail` is read by bureau and department staff
and shown on the portal's pages beside the field, so each error type is said once here in Chinese. The error's
`type` stays the stable `rule` programs rely on; only the words change. A type missing from the table (a newer
pydantic) falls back to a generic sentence rather than to English.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Formats the schemas name by these constants, said as a person would: `string_pattern_mismatch` shows the hint
# instead of the regular expression.
RESOURCE_CODE_PATTERN = r"^\d{6,12}/\d{1,12}$"
ITEM_CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
_PATTERN_HINTS: Mapping[str, str] = {
    RESOURCE_CODE_PATTERN: "格式不正确：应为 分类码/顺序码，分类码 6–12 位数字、顺序码 1–12 位数字，如 101001/000123",
    ITEM_CODE_PATTERN: "格式不正确：应以英文字母开头，只含英文字母、数字和下划线，最长 64 位，如 id_number",
}

# Types of an expected value, as pydantic's `{field_type}` names them in too_short/too_long.
_CONTAINERS = {"List": "列表", "Tuple": "元组", "Set": "集合", "Dictionary": "对象", "Value": "值"}

_MESSAGES: Mapping[str, str] = {
    "missing": "必填",
    "missing_argument": "必填",
    "missing_keyword_only_argument": "必填",
    "missing_positional_only_argument": "必填",
    "extra_forbidden": "不允许的字段",
    "unexpected_keyword_argument": "不允许的字段",
    "unexpected_positional_argument": "不允许的参数",
    "multiple_argument_values": "参数重复",
    "frozen_field": "不可修改",
    "frozen_instance": "不可修改",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON 文本",
    "none_required": "应为空（null）",
    "string_type": "应为字符串",
    "string_unicode": "应为有效的 UTF-8 文本",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确（应符合 {pattern}）",
    "string_not_ascii": "只能包含 ASCII 字符",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_parsing_size": "整数过大",
    "int_from_float": "应为整数，不能带小数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "总位数不能超过 {max_digits} 位",
    "decimal_max_places": "小数位数不能超过 {decimal_places} 位",
    "decimal_whole_digits": "整数部分不能超过 {whole_digits} 位",
    "fraction_type": "应为数字",
    "fraction_parsing": "应为数字",
    "complex_type": "应为数字",
    "complex_str_parsing": "应为数字",
    "bool_type": "应为布尔值（true 或 false）",
    "bool_parsing": "应为布尔值（true 或 false）",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "multiple_of": "应为 {multiple_of} 的整数倍",
    "too_short": "{container}至少应有 {min_length} 项",
    "too_long": "{container}最多只能有 {max_length} 项",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "frozen_set_type": "应为列表",
    "deque_type": "应为列表",
    "iterable_type": "应为列表",
    "iteration_error": "应为列表",
    "set_item_not_hashable": "列表项无效",
    "dict_type": "应为对象",
    "frozen_dict_type": "应为对象",
    "ordered_dict_type": "应为对象",
    "counter_type": "应为对象",
    "mapping_type": "应为对象",
    "invalid_key": "对象的键应为字符串",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "dataclass_type": "应为对象",
    "dataclass_exact_type": "应为对象",
    "named_tuple_type": "应为对象",
    "arguments_type": "应为对象",
    "bytes_type": "应为二进制数据",
    "bytes_too_short": "不能少于 {min_length} 字节",
    "bytes_too_long": "不能超过 {max_length} 字节",
    "bytes_invalid_encoding": "不是有效的 {encoding} 编码",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_from_datetime_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期，不能带时间",
    "date_past": "应为过去的日期",
    "date_future": "应为将来的日期",
    "time_type": "应为时间（HH:MM:SS）",
    "time_parsing": "应为时间，格式 HH:MM:SS",
    "datetime_type": "应为日期时间（ISO 8601）",
    "datetime_parsing": "应为日期时间，格式如 2026-01-01T09:00:00+08:00",
    "datetime_from_date_parsing": "应为日期时间，格式如 2026-01-01T09:00:00+08:00",
    "datetime_object_invalid": "日期时间无效",
    "datetime_past": "应为过去的时间",
    "datetime_future": "应为将来的时间",
    "timezone_naive": "不能带时区",
    "timezone_aware": "应带时区，如 +08:00",
    "timezone_offset": "时区应为 {tz_expected}",
    "time_delta_type": "应为时长",
    "time_delta_parsing": "应为时长",
    "url_type": "应为网址",
    "url_parsing": "不是有效的网址",
    "url_syntax_violation": "不是有效的网址",
    "url_too_long": "网址不能超过 {max_length} 个字符",
    "url_scheme": "网址协议应为 {expected_schemes}",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "不是有效的 UUID",
    "uuid_version": "应为第 {expected_version} 版 UUID",
    "union_tag_invalid": "类型 {tag} 无效，应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少类型字段 {discriminator}",
    "is_instance_of": "类型不正确",
    "is_subclass_of": "类型不正确",
    "callable_type": "类型不正确",
    "no_such_attribute": "不允许的字段",
    "get_attribute_error": "无法读取",
    "recursion_loop": "数据存在循环引用",
    "recursion_depth_exceeded": "数据嵌套过深",
}

_FALLBACK = "不符合规则"


def chinese_message(error: Mapping[str, Any]) -> str:
    """The Chinese sentence for one pydantic error (an item of `ValidationError.errors()`)."""
    kind = error.get("type", "")
    if kind in ("value_error", "assertion_error"):
        # Our own validators raise with a Chinese sentence already; pydantic prefixes it in English.
        reason = (error.get("ctx") or {}).get("error")
        return str(reason) if reason else _FALLBACK
    ctx = dict(error.get("ctx") or {})
    if kind == "string_pattern_mismatch" and str(ctx.get("pattern")) in _PATTERN_HINTS:
        return _PATTERN_HINTS[str(ctx["pattern"])]
    template = _MESSAGES.get(kind)
    if template is None:
        return _FALLBACK
    if "expected" in ctx:
        ctx["expected"] = _or_list(str(ctx["expected"]))
    ctx["container"] = _CONTAINERS.get(str(ctx.get("field_type", "")), "")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template.split("{", 1)[0].rstrip("：（ ") or _FALLBACK


def _or_list(expected: str) -> str:
    """pydantic says "'a', 'b' or 'c'": the same choices, joined the Chinese way."""
    return "、".join(part.strip() for part in expected.replace(" or ", ", ").split(",") if part.strip())
