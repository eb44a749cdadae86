"""OperationOutcome bodies for error responses."""

from __future__ import annotations

from typing import Any


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    """A one-issue OperationOutcome (``code`` from the R4 issue-type value set: security, invalid, ...)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
