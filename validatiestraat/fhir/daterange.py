"""Date ranges for FHIR date search (R4 search.html#date).

Every date, dateTime or Period becomes a half-open range ``[low, high)`` at the precision it was given in
(``2025-01-24`` is that whole day). Each range is kept twice: on the wall clock (zone dropped) and in UTC
(a value without a zone is taken as UTC). A search value without a zone is compared on the wall clock, one
with a zone in UTC: so ``period-of-use=ge2025-01-24`` means "from that calendar day" whatever offset the data
was written with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

_PATTERN = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
NAIVE_MIN, NAIVE_MAX = datetime.min, datetime.max
UTC_MIN, UTC_MAX = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DateRange:
    low: datetime  # wall clock, inclusive
    high: datetime  # wall clock, exclusive
    low_utc: datetime
    high_utc: datetime
    has_zone: bool = False

    def bounds(self, utc: bool) -> tuple[datetime, datetime]:
        return (self.low_utc, self.high_utc) if utc else (self.low, self.high)


def parse(text: str) -> DateRange:
    """A FHIR date/dateTime/instant as a range; ``ValueError`` when it is not one."""
    m = _PATTERN.match(text.strip())
    if not m:
        raise ValueError(f"not a FHIR date: {text!r}")
    y, mo, d, hh, mi, ss, frac, zone = m.groups()
    try:
        start = datetime(int(y), int(mo or 1), int(d or 1), int(hh or 0), int(mi or 0), int(ss or 0))
        if frac:
            start = start.replace(microsecond=int(frac[:6].ljust(6, "0")))
        if d is None:
            step: timedelta | relativedelta = relativedelta(years=1) if mo is None else relativedelta(months=1)
        elif hh is None:
            step = timedelta(days=1)
        elif ss is None:
            step = timedelta(minutes=1)
        elif frac is None:
            step = timedelta(seconds=1)
        else:
            step = timedelta(microseconds=10 ** max(0, 6 - len(frac)))
        end = start + step
    except (ValueError, OverflowError) as e:
        raise ValueError(f"not a FHIR date: {text!r}") from e
    if zone is None or hh is None:
        offset = timedelta(0)
    else:
        sign = -1 if zone.startswith("-") else 1
        offset = timedelta(0) if zone == "Z" else sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return DateRange(
        start, end, (start - offset).replace(tzinfo=UTC), (end - offset).replace(tzinfo=UTC), zone is not None
    )


_UCUM = {
    "s": lambda v: timedelta(seconds=v),
    "min": lambda v: timedelta(minutes=v),
    "h": lambda v: timedelta(hours=v),
    "d": lambda v: timedelta(days=v),
    "wk": lambda v: timedelta(weeks=v),
    "mo": lambda v: relativedelta(months=int(v)),
    "a": lambda v: relativedelta(years=int(v)),
}


def duration(quantity: dict[str, Any] | None) -> timedelta | relativedelta | None:
    """A UCUM Duration (s, min, h, d, wk, mo, a) as a time step, or None."""
    if not quantity or not isinstance(quantity.get("value"), int | float):
        return None
    make = _UCUM.get(quantity.get("code") or "")
    return make(quantity["value"]) if make else None


def of_period(period: dict[str, Any], length: timedelta | relativedelta | None = None) -> DateRange:
    """A Period as a range; with ``length`` a missing end is start + length (a missing start end − length).
    An open side stays open."""
    start = parse(period["start"]) if isinstance(period.get("start"), str) else None
    end = parse(period["end"]) if isinstance(period.get("end"), str) else None
    low, low_utc = (start.low, start.low_utc) if start else (NAIVE_MIN, UTC_MIN)
    high, high_utc = (end.high, end.high_utc) if end else (NAIVE_MAX, UTC_MAX)
    if length is not None:
        if start and not end:
            high, high_utc = start.low + length, start.low_utc + length
        elif end and not start:
            low, low_utc = end.high - length, end.high_utc - length
    return DateRange(low, high, low_utc, high_utc, bool((start and start.has_zone) or (end and end.has_zone)))


def of_value(value: Any) -> DateRange | None:
    """A date/dateTime string or a Period dict as a range (None for anything else)."""
    if isinstance(value, str):
        return parse(value)
    if isinstance(value, dict) and ("start" in value or "end" in value):
        return of_period(value)
    return None


def matches(prefix: str, search: DateRange, target: DateRange, now: datetime | None = None) -> bool:
    """R4 date comparison of a target range against a search value range."""
    utc = search.has_zone
    pl, ph = search.bounds(utc)
    rl, rh = target.bounds(utc)
    contained = pl <= rl and rh <= ph
    if prefix == "eq":
        return contained
    if prefix == "ne":
        return not contained
    if prefix == "gt":
        return rh > ph
    if prefix == "lt":
        return rl < pl
    if prefix == "ge":
        return rh > ph or contained
    if prefix == "le":
        return rl < pl or contained
    if prefix == "sa":
        return rl >= ph
    if prefix == "eb":
        return rh <= pl
    if prefix == "ap":
        ref = now or datetime.now(UTC)
        ref = ref if utc else ref.replace(tzinfo=None)
        margin = abs(ref - pl) * 0.1 if abs(ref - pl) > timedelta(0) else timedelta(days=1)
        return rl < ph + margin and rh > pl - margin
    raise ValueError(f"unknown prefix {prefix!r}")
