"""The check library. Importing this package registers every check module in the registry."""

from validatiestraat.checks import (
    content,  # noqa: F401
    fhir_generic,  # noqa: F401
    fhir_search,  # noqa: F401
    lists,  # noqa: F401
    oauth,  # noqa: F401
    profile,  # noqa: F401
    tls,  # noqa: F401
)
from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.registry import REGISTRY, Check, check, checks_for, evaluate

__all__ = ["REGISTRY", "Check", "CheckContext", "check", "checks_for", "evaluate"]
