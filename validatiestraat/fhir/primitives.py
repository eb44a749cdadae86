"""The R4 primitive types: what JSON value each takes, and the lexical rules of their string forms.

:func:`problem` says what is wrong with a value for a primitive type, or None. The regular expressions are those
of the R4 specification (datatypes.html); dates are also checked against the calendar (``2023-02-30`` matches the
pattern, but is not a date).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"

PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(f"^(?:{rx})$")
    for name, rx in {
        "date": f"{_YEAR}(-{_MONTH}(-{_DAY})?)?",
        "dateTime": f"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?",
        "instant": f"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}",
        "time": _TIME,
        "code": r"[^\s]+( [^\s]+)*",
        "id": r"[A-Za-z0-9\-\.]{1,64}",
        "oid": r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+",
        "uuid": r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "base64Binary": r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+",
        "uri": r"\S*",
        "url": r"\S*",
        "canonical": r"\S*",
    }.items()
}

STRINGY = {
    "string",
    "markdown",
    "code",
    "id",
    "uri",
    "url",
    "canonical",
    "oid",
    "uuid",
    "base64Binary",
    "date",
    "dateTime",
    "instant",
    "time",
    "xhtml",
}
INTEGERS = {"integer": -(2**31), "unsignedInt": 0, "positiveInt": 1}
PRIMITIVES = STRINGY | set(INTEGERS) | {"boolean", "decimal"}

MAX_STRING = 1024 * 1024


def is_primitive(type_code: str) -> bool:
    return type_code in PRIMITIVES


def problem(type_code: str, value: Any) -> str | None:
    """What is wrong with ``value`` (a JSON value) as a ``type_code``, or None."""
    if type_code == "boolean":
        return None if isinstance(value, bool) else f"must be a JSON boolean, not {_shown(value)}"
    if type_code in INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a JSON integer, not {_shown(value)}"
        if value < INTEGERS[type_code] or value > 2**31 - 1:
            return f"the value {value} is out of range for {type_code}"
        return None
    if type_code == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a JSON number, not {_shown(value)}"
        return None
    if type_code in STRINGY:
        if not isinstance(value, str):
            return f"must be a JSON string, not {_shown(value)}"
        if value == "":
            return "@value cannot be empty"
        if value.strip() == "" and type_code not in ("string", "markdown"):
            return "the value is only whitespace"
        if len(value) > MAX_STRING:
            return f"the value is longer than {MAX_STRING} characters"
        pattern = PATTERNS.get(type_code)
        if pattern is not None and not pattern.match(value):
            return f"not a valid {type_code} ({_cut(value)!r} doesn't meet format requirements for {type_code})"
        if type_code in ("date", "dateTime", "instant") and not _on_calendar(value):
            return f"not a valid {type_code} ({_cut(value)!r} is not a date on the calendar)"
        if type_code in ("uri", "url", "canonical"):  # an OID or UUID in URN form must be one (HL7 6.0.21 checks too)
            if value.startswith("urn:uuid:") and not PATTERNS["uuid"].match(value):
                return f"not a valid UUID: UUIDs must be valid and lowercase ({_cut(value)!r})"
            if value.startswith("urn:oid:") and not PATTERNS["oid"].match(value):
                return f"not a valid OID ({_cut(value)!r})"
        return None
    return None


def _on_calendar(value: str) -> bool:
    parts = value[:10].split("-")
    if len(parts) < 3:
        return True
    try:
        date(int(parts[0]), int(parts[1]), int(parts[2][:2]))
    except ValueError:
        return False
    return True


def _shown(value: Any) -> str:
    kind = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kind.get(type(value), f"a number ({value})" if isinstance(value, int | float) else type(value).__name__)


def _cut(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."
