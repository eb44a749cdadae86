"""The secret scan: does any file of a report still hold a secret of the run?

Every file under the report folder is read as text (UTF-8, undecodable bytes replaced) and searched for each
secret in the forms redaction replaces (raw, URL-encoded, JSON-escaped, HTML-escaped; see
:func:`validatiestraat.evidence.redact.forms`). A hit is ``<file>:<line>`` (relative to the report folder),
never the secret itself: the hit list goes to the terminal. The CLI treats any hit as a harness error.
An all-digit secret (a BSN) counts only where it stands alone, not inside a longer number (a timestamp).
Secrets shorter than :data:`~validatiestraat.evidence.redact.MIN_SECRET` are not searched for (redaction does
not search for them either; they would match innocent text).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from validatiestraat.evidence.redact import MIN_SECRET, digits_pattern, forms


def needles(secrets: Iterable[str]) -> set[str]:
    return {f for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET for f in forms(s) if len(f) >= MIN_SECRET}


def scan(report_dir: Path, secrets: set[str]) -> list[str]:
    """``file:line`` of every occurrence of a secret in any file under ``report_dir`` (empty: clean)."""
    wanted = sorted(needles(secrets), key=len, reverse=True)
    if not wanted or not report_dir.exists():
        return []
    hits: list[str] = []
    for path in sorted(p for p in report_dir.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace")
        lines: set[int] = set()
        for needle in wanted:
            if needle not in text:
                continue
            digits = digits_pattern(needle)
            if digits is not None:  # a number (a BSN) counts where it stands alone, as redaction treats it
                places = [m.start() for m in digits.finditer(text)]
            else:
                places, at = [], text.find(needle)
                while at >= 0:
                    places.append(at)
                    at = text.find(needle, at + 1)
            lines.update(text.count("\n", 0, at) + 1 for at in places)
        rel = path.relative_to(report_dir).as_posix()
        hits += [f"{rel}:{line}" for line in sorted(lines)]
    return hits
