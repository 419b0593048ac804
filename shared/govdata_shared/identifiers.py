"""Validation and masking of the personal and organisational identifiers the platform handles.

* 公民身份号码 (resident identity number, GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check character.
* 统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters of a 31-character set and an
  ISO 7064 MOD 31-3 style check character. Some codes issued in early pilot regions before the standard do
  not satisfy the check; they are legal identifiers, so they are accepted with ``check_failed=True``.

Identifiers are personal data (DESIGN §3.3): logs, events sent to the audit trail and any response to
someone other than the subject or the provider department carry only masked values (``4103**********1234``).

Invalid input raises :class:`InvalidIdentifier` with a stable English ``rule`` code for programs and a
Chinese ``message`` for people. Rules: ``type``, ``length``, ``charset``, ``region``, ``birth_date``,
``check_digit``, ``registration_dept``, ``org_category``, ``subject_type``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from urllib.parse import unquote

from govdata_shared.workdays import today_in_shanghai

__all__ = [
    "CREDIT_CODE_CHARSET",
    "IdentifierKind",
    "InvalidIdentifier",
    "ValidatedId",
    "mask_identifier",
    "mask_identifiers_in_text",
    "mask_in_obj",
    "validate_credit_code",
    "validate_resident_id",
    "validate_subject_id",
]

IdentifierKind = Literal["resident_id", "credit_code"]


class InvalidIdentifier(ValueError):
    """An identifier that fails a rule; ``rule`` is a stable code, ``message`` is Chinese for people."""

    def __init__(self, rule: str, message: str, kind: IdentifierKind | None = None) -> None:
        super().__init__(f"{message} ({rule})")
        self.rule = rule
        self.message = message
        self.kind = kind


@dataclass(frozen=True, slots=True)
class ValidatedId:
    """A validated identifier: ``value`` is normalised (stripped, upper case)."""

    value: str
    kind: IdentifierKind
    check_failed: bool = False


# --- 公民身份号码, GB 11643-1999 -------------------------------------------------------------------

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK_CHARS = "10X98765432"
# Province-level codes of GB/T 2260, including 71 Taiwan, 81 Hong Kong, 82 Macao; plus 83, which the
# residence permits of Taiwan residents (港澳台居民居住证, since 2018) use as their address code.
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_EARLIEST_BIRTH = date(1900, 1, 1)
# Explicit ASCII classes: str.isdigit() would also accept full-width and other Unicode digits.
_RESIDENT_RE = re.compile(r"[0-9]{17}[0-9X]")


def _resident_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK_CHARS[total % 11]


def _as_stripped_str(value: object, kind: IdentifierKind) -> str:
    if not isinstance(value, str):
        raise InvalidIdentifier("type", "证件号码必须是字符串", kind)
    return value.strip()


def validate_resident_id(value: str, *, today: date | None = None) -> ValidatedId:
    """Validate an 18-character 公民身份号码; a trailing lower-case ``x`` is normalised to ``X``.

    ``today`` (default: today in Asia/Shanghai) bounds the birth date from above.
    """
    kind: IdentifierKind = "resident_id"
    v = _as_stripped_str(value, kind)
    if len(v) != 18:
        raise InvalidIdentifier("length", "身份证号应为18位", kind)
    v = v[:17] + v[17].upper()
    if not _RESIDENT_RE.fullmatch(v):
        raise InvalidIdentifier("charset", "身份证号前17位应为数字，末位应为数字或X", kind)
    if int(v[:2]) not in _PROVINCES:
        raise InvalidIdentifier("region", "身份证号地址码无效", kind)
    try:
        birth = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise InvalidIdentifier("birth_date", "身份证号出生日期无效", kind) from None
    if not _EARLIEST_BIRTH <= birth <= (today or today_in_shanghai()):
        raise InvalidIdentifier("birth_date", "身份证号出生日期超出有效范围", kind)
    if _resident_check_char(v[:17]) != v[17]:
        raise InvalidIdentifier("check_digit", "身份证号校验位错误", kind)
    return ValidatedId(value=v, kind=kind)


# --- 统一社会信用代码, GB 32100-2015 ----------------------------------------------------------------

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_CREDIT_VALUES = {c: i for i, c in enumerate(CREDIT_CODE_CHARSET)}
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
# 登记管理部门码: 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 工商/市场监管,
# A 中央军委改革和编制办公室, N 农业, Y 其他.
_REGISTRATION_DEPTS = frozenset("123456789ANY")
# 机构类别码 is a digit 1-9 for every department (9 = 其他). The per-department list has been amended by
# notices over the years, so only the digit is checked; a stricter table would reject legitimate new codes.
_ORG_CATEGORIES = frozenset("123456789")


def _credit_check_char(first17: str) -> str:
    total = sum(_CREDIT_VALUES[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> ValidatedId:
    """Validate an 18-character 统一社会信用代码 (lower case is accepted and normalised to upper case).

    A code that is well-formed but fails the check character is accepted with ``check_failed=True``:
    early pilot-region codes (e.g. ``91350100M0001TGQXM``) legitimately do, so callers may flag, not refuse.
    """
    kind: IdentifierKind = "credit_code"
    v = _as_stripped_str(value, kind)
    if len(v) != 18:
        raise InvalidIdentifier("length", "统一社会信用代码应为18位", kind)
    v = v.upper()
    if any(c not in _CREDIT_VALUES for c in v):
        raise InvalidIdentifier("charset", "统一社会信用代码含有无效字符（不使用I、O、Z、S、V）", kind)
    if v[0] not in _REGISTRATION_DEPTS:
        raise InvalidIdentifier("registration_dept", "统一社会信用代码登记管理部门码无效", kind)
    if v[1] not in _ORG_CATEGORIES:
        raise InvalidIdentifier("org_category", "统一社会信用代码机构类别码无效", kind)
    if not v[2:8].isdigit():
        raise InvalidIdentifier("region", "统一社会信用代码行政区划码应为6位数字", kind)
    return ValidatedId(value=v, kind=kind, check_failed=_credit_check_char(v[:17]) != v[17])


def validate_subject_id(subject_type: Literal["person", "org"], value: str) -> ValidatedId:
    """Validate the identifier of a data subject: ``person`` -> 身份证号, ``org`` -> 统一社会信用代码."""
    if subject_type == "person":
        return validate_resident_id(value)
    if subject_type == "org":
        return validate_credit_code(value)
    raise InvalidIdentifier("subject_type", "主体类型无效，应为 person 或 org")


# --- masking --------------------------------------------------------------------------------------


def mask_identifier(value: str) -> str:
    """Keep the first 4 and last 4 characters, replace the rest by ``*`` (``4103**********1234``).

    Values of 8 characters or fewer keep only their last character (a 1-character value is fully masked),
    so short values never come out readable.
    """
    n = len(value)
    if n > 8:
        return value[:4] + "*" * (n - 8) + value[-4:]
    if n <= 1:
        return "*" * n
    return "*" * (n - 1) + value[-1]


def _literal_or_escaped(chars: str) -> str:
    """A regex matching one of `chars` written as itself or percent-encoded (`%34` for 4, either hex case)."""
    by_high: dict[str, set[str]] = {}
    for c in chars:
        high, low = f"{ord(c):02X}"
        by_high.setdefault(high, set()).update({low, low.lower()})
    escaped = "|".join(f"{high}[{''.join(sorted(lows))}]" for high, lows in sorted(by_high.items()))
    return f"(?:[{re.escape(chars)}]|%(?:{escaped}))"


_DIGIT = _literal_or_escaped("0123456789")
_RESIDENT_LAST = _literal_or_escaped("0123456789Xx")
_CREDIT_FIRST = _literal_or_escaped("123456789ANYany")
_CREDIT_SECOND = _literal_or_escaped("123456789")
_CREDIT_REST = _literal_or_escaped(CREDIT_CODE_CHARSET + CREDIT_CODE_CHARSET[10:].lower())

# ASCII-only look-arounds: \b would treat Chinese characters as word characters and miss "号410329...".
# Shapes, not validity, decide: over-masking a look-alike in a log is harmless, a leaked identifier is not.
# The credit-code shape (department, category, 6-digit region) keeps UUIDs and hex digests untouched, and
# the look-arounds stop matches inside longer alphanumeric runs such as a 64-character sha256.
_IDENTIFIER_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:[0-9]{17}[0-9Xx]"
    r"|[1-9ANYany][1-9][0-9]{6}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{10})"
    r"(?![0-9A-Za-z])"
)
# The same shapes where any character may be percent-encoded, as in a URL's path or query (`/persons/%34%31…`).
# An escape of anything but a letter or digit (`%2F`, `%3D`, `%20`) is a separator like any other, and an escaped
# letter or digit continues the run as a plain one would. Used only for text containing `%` (it is twice as slow,
# and matches as the plain pattern does on text without one).
_ESCAPED_ALNUM = r"%(?:3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]|6[1-9A-Fa-f]|7[0-9Aa])"
_ESCAPED_OTHER = r"%(?:[0-28-9A-Fa-f][0-9A-Fa-f]|3[A-Fa-f]|40|5[B-Fb-f]|60|7[B-Fb-f])"
_IDENTIFIER_IN_URL = re.compile(
    # never starting inside an escape: "%31" is one character, not "3" and "1"
    rf"(?:(?<![0-9A-Za-z%])(?<!%[0-9A-Fa-f])|(?<={_ESCAPED_OTHER}))"
    rf"(?:{_DIGIT}{{17}}{_RESIDENT_LAST}"
    rf"|{_CREDIT_FIRST}{_CREDIT_SECOND}{_DIGIT}{{6}}{_CREDIT_REST}{{10}})"
    rf"(?![0-9A-Za-z]|{_ESCAPED_ALNUM})"
)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    return mask_identifier(unquote(found) if "%" in found else found)


def mask_identifiers_in_text(text: str) -> str:
    """Mask every 身份证号- or 统一社会信用代码-shaped substring of ``text`` (for logs, the audit trail), also
    when written percent-encoded in a URL: the masked form is that of the decoded identifier."""
    pattern = _IDENTIFIER_IN_URL if "%" in text else _IDENTIFIER_IN_TEXT
    return pattern.sub(_mask_match, text)


def mask_in_obj(obj: Any) -> Any:
    """Return a copy of a JSON-like structure with identifiers masked in every string (keys included).

    Dicts, lists, tuples, sets and frozensets are rebuilt; other values (numbers, None, ...) are returned
    as they are.
    """
    if isinstance(obj, str):
        return mask_identifiers_in_text(obj)
    if isinstance(obj, Mapping):
        return {mask_in_obj(k): mask_in_obj(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [mask_in_obj(x) for x in obj]
    if isinstance(obj, tuple):
        items = [mask_in_obj(x) for x in obj]
        return obj._make(items) if hasattr(obj, "_make") else tuple(items)  # keep named tuples named
    if isinstance(obj, set | frozenset):
        return type(obj)(mask_in_obj(x) for x in obj)
    return obj
