"""Dates relative to a date T.

The straat's dataset, like the Nictiz qualification fixtures, writes every date as an offset from an agreed
date T: ``${DATE, T, D, -20}`` is T minus 20 days, ``${DATE, T, M, +1}`` one month after T (clamped to the
month's end), ``${DATE, T, Y, -40}`` forty years before T. The placeholder stands for the date part only; a
time and zone may follow it (``${DATE, T, D, -1}T08:00:00+01:00``). Expansion is textual, so it works the same
on JSON, XML and narrative text.
"""

from __future__ import annotations

import re
from datetime import date

from dateutil.relativedelta import relativedelta

# spacing varies in the wild (the Nictiz scripts write ``${DATE, T, D,-7}``), so it is free here
PLACEHOLDER = re.compile(r"\$\{\s*DATE\s*,\s*T\s*,\s*([YMD])\s*,\s*([+-]?\d+)\s*\}")
_UNITS = {"Y": "years", "M": "months", "D": "days"}


def shift(t: date, unit: str, amount: int) -> date:
    """T moved by ``amount`` years, months or days (``unit`` is Y, M or D)."""
    return t + relativedelta(**{_UNITS[unit]: amount})


def expand(text: str, t: date) -> str:
    """Replace every ``${DATE, T, unit, n}`` placeholder in ``text`` by the ISO date it stands for."""
    return PLACEHOLDER.sub(lambda m: shift(t, m[1], int(m[2])).isoformat(), text)


def has_placeholders(text: str) -> bool:
    return PLACEHOLDER.search(text) is not None
