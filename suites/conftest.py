"""Wires the pytest front-end (:mod:`suites.plugin`) into every suite below this folder."""

from suites.plugin import (  # noqa: F401  (pytest finds hooks and fixtures by name in a conftest)
    case,
    certification,
    pytest_addoption,
    pytest_configure,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
