"""Content check: every returned resource carries what the dataset holds for it, unaltered.

The DVA under test serves the dataset it was loaded with. For each entry matched to a dataset resource
(:mod:`validatiestraat.checks.mp9_answer`) every element of the dataset resource must be in the returned one with
the same value. What a server may legitimately change is left out: ``id`` (a vendor may assign its own),
``meta.versionId``, ``meta.lastUpdated``, ``meta.source`` and the narrative ``text``. A reference's literal
``reference`` may differ when the ids do; then the resource it points to must be the same (resolved in the
Bundle or the dataset), or, when it cannot be resolved, the ``display`` must be. Numbers compare by value
(1.0 = 1), date-times with a zone by instant. Elements the server adds are not judged here; a repeating element
may gain items as long as the dataset's items are there in their order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.mp9_answer import Answer, read_answer, scrub
from validatiestraat.checks.registry import check
from validatiestraat.fhir.store import reference_key
from validatiestraat.results import Finding, failed, passed, skipped

IGNORED = {(): {"id", "text"}, ("meta",): {"versionId", "lastUpdated", "source"}}
SHOWN_RESOURCES = 3
SHOWN_PATHS = 3
ABSENT = object()

Path = tuple[str | int, ...]
Difference = tuple[Path, Any, Any]


def _path_text(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "(resource)"


def _show(value: Any) -> str:
    if value is ABSENT:
        return "absent"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _instant(value: str) -> datetime | None:
    if "T" not in value or not (value.endswith("Z") or "+" in value[10:] or "-" in value[10:]):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def same_primitive(expected: Any, found: Any) -> bool:
    if isinstance(expected, bool) or isinstance(found, bool):
        return expected is found
    a, b = _number(expected), _number(found)
    if a is not None or b is not None:
        return a is not None and b is not None and a == b
    if expected == found:
        return True
    if isinstance(expected, str) and isinstance(found, str):
        x, y = _instant(expected), _instant(found)
        return x is not None and y is not None and x == y
    return False


class Comparer:
    """Finds where a returned resource differs from the dataset resource it was matched to."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def diff(self, expected: Any, found: Any, path: Path = ()) -> Iterator[Difference]:
        if isinstance(expected, dict):
            if not isinstance(found, dict):
                yield path, expected, found
                return
            ignored = IGNORED.get(path, set())
            for k, v in expected.items():
                if k in ignored:
                    continue
                if k == "reference" and isinstance(v, str) and isinstance(found.get(k), str):
                    if not self.same_reference(v, found[k], expected, found):
                        yield (*path, k), v, found[k]
                    continue
                if k not in found:
                    yield (*path, k), v, ABSENT
                    continue
                yield from self.diff(v, found[k], (*path, k))
        elif isinstance(expected, list):
            yield from self._diff_list(expected, found, path)
        elif not same_primitive(expected, found):
            yield path, expected, found

    def _diff_list(self, expected: list[Any], found: Any, path: Path) -> Iterator[Difference]:
        if not isinstance(found, list):
            yield path, expected, found
            return
        if len(found) == len(expected):
            for i, (e, f) in enumerate(zip(expected, found, strict=True)):
                yield from self.diff(e, f, (*path, i))
            return
        # the server added items: the dataset's items must still be there, in their order
        rest = iter(enumerate(found))
        for i, e in enumerate(expected):
            if not any(not any(self.diff(e, f, (*path, j))) for j, f in rest):
                yield (*path, i), e, f"not among the {len(found)} items returned (the dataset has {len(expected)})"
                return

    def same_reference(
        self, expected: str, found: str, expected_ref: dict[str, Any], found_ref: dict[str, Any]
    ) -> bool:
        if expected == found:
            return True
        target = self.answer.target_key(found)
        if target is not None:
            return target == reference_key(expected)
        display = expected_ref.get("display")
        return display is not None and found_ref.get("display") == display


@check(
    "content.unaltered",
    "Every returned resource carries what the dataset holds for it, unaltered",
    ["validatiestraat.mp9.content-unaltered"],
)
def content_unaltered(ctx: CheckContext) -> list[Finding]:
    answer = read_answer(ctx)
    if not isinstance(answer, Answer):
        return [answer]
    x = answer.exchange
    compared = [(e, r) for e in answer.entries if (r := answer.expected(e)) is not None]
    if not compared:
        return [skipped("no returned resource is in the dataset: nothing to compare", x.id)]
    comparer = Comparer(answer)
    altered: list[str] = []
    for entry, expected in compared:
        if entry.resource == expected:  # the common case, at C speed; the walk below explains differences
            continue
        diffs = list(comparer.diff(expected, entry.resource))
        if diffs:
            shown = "; ".join(
                f"{_path_text(p)}: expected {_show(e)}, found {_show(f)}" for p, e, f in diffs[:SHOWN_PATHS]
            )
            more = f" (+{len(diffs) - SHOWN_PATHS} more)" if len(diffs) > SHOWN_PATHS else ""
            key = answer.key(entry)
            name = f"{key[0]}/{key[1]}" if key else entry.label
            altered.append(f"{name}: {shown}{more}")
    if altered:
        head = f"{len(altered)} of {len(compared)} resources differ from the dataset: "
        body = " | ".join(altered[:SHOWN_RESOURCES])
        more = f" | and {len(altered) - SHOWN_RESOURCES} more" if len(altered) > SHOWN_RESOURCES else ""
        return [failed(scrub(head + body + more, ctx.dataset), x.id)]
    return [passed(f"{len(compared)} resources carry the dataset's content unaltered", x.id)]
