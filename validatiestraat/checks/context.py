"""What a check reads: the scenario, its variant, the case's recorded exchanges and the dataset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from validatiestraat.evidence.exchange import Exchange
from validatiestraat.fhir.store import Store
from validatiestraat.scenarios import Scenario

T = TypeVar("T")


class NoResponse(Exception):
    """A step a check needs has no response (never sent, refused, timed out): an environment error."""

    def __init__(self, message: str, *exchanges: str) -> None:
        super().__init__(message)
        self.exchanges = exchanges


class BadBody(Exception):
    """A response body that is not the JSON or XML it claims to be (a SUT failure, raised by ``resource``)."""


@dataclass
class CheckContext:
    scenario: Scenario
    variant: str | None
    exchanges: list[Exchange]
    dataset: Store
    facts: dict[str, Any] = field(default_factory=dict)  # what the driver learned (patient id, service id, …)
    _parsed: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def case(self) -> str:
        return self.scenario.case_id(self.variant)

    def steps(self, name: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.step == name]

    def step(self, name: str) -> Exchange | None:
        found = self.steps(name)
        return found[-1] if found else None

    def response(self, name: str) -> Exchange:
        """The exchange of step ``name``, which must have a response (else :class:`NoResponse`)."""
        exchange = self.step(name)
        if exchange is None:
            raise NoResponse(f"step {name!r} of {self.case} was not recorded (the driver did not reach it)")
        if exchange.status is None:
            raise NoResponse(f"no response to {exchange.method} {exchange.url}: {exchange.error}", exchange.id)
        return exchange

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per case: what several checks of the case derive alike (a parsed answer, ...)."""
        if key not in self._parsed:
            self._parsed[key] = compute()
        return self._parsed[key]

    def resource(self, exchange: Exchange) -> dict[str, Any]:
        """The response body as FHIR JSON (parsed from JSON or XML by its content type), cached per exchange.
        Raises :class:`BadBody` when it cannot be parsed."""
        if exchange.id not in self._parsed:
            self._parsed[exchange.id] = _parse(exchange)
        value = self._parsed[exchange.id]
        if isinstance(value, BadBody):
            raise value
        return value


def _parse(exchange: Exchange) -> dict[str, Any] | BadBody:
    from validatiestraat.fhir.formats import from_json, from_xml

    body = exchange.response_body
    kind = "xml" if "xml" in exchange.content_type else "json"
    try:
        resource = from_xml(body, remember=True) if kind == "xml" else from_json(body)
    except Exception as exc:  # any parser complaint means: not a FHIR resource in that format
        return BadBody(f"the response body is not FHIR {kind.upper()}: {type(exc).__name__}: {exc}")
    if not isinstance(resource, dict) or "resourceType" not in resource:
        return BadBody(f"the response body is {kind.upper()} but not a FHIR resource")
    return resource
