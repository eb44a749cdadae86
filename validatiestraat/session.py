"""A certification session for a DVA: the straat around it, the recorder on every tap, and the way to get a
patient's access token (``auto`` through the front channel, or ``preshared`` tokens per patient).

The session drives; it never judges. Driving a case records exchanges under the case id and returns the
facts the checks need (which patient, which token step). When driving cannot go on, :class:`Blocked` says
whether the SUT is to blame (``fail``) or the environment (``error``).
"""

from __future__ import annotations

import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx

from mock_providers.pgo.client import PGOError
from mock_providers.straat import PROVIDER, Straat
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.fhir.store import Store
from validatiestraat.fhir.tdates import expand
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE, SERVICE_ID
from validatiestraat.results import Outcome
from validatiestraat.scenarios import Scenario

T = TypeVar("T")
WAYS = ("auto", "preshared")


class Blocked(Exception):
    """The case cannot be driven to its end; ``outcome`` is FAIL (the SUT's doing) or ERROR (environment)."""

    def __init__(self, outcome: Outcome, message: str, *exchanges: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.exchanges = exchanges


def is_transport_failure(exc: BaseException) -> bool:
    """Connection refused, timeout, TLS handshake failure and the like: the environment, not a FHIR answer."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.TransportError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "ConnectError" in str(exc) or "Timeout" in str(exc)


@dataclass
class DvaSession:
    straat: Straat
    recorder: Recorder
    dataset: Store
    way: str = "auto"
    t: str = ""  # date T, ISO
    tokens: dict[str, str] = field(default_factory=dict)  # patient id -> access token
    secrets: set[str] = field(default_factory=set)  # every value that must not leave the run unredacted

    def __post_init__(self) -> None:
        if self.way not in WAYS:
            raise ValueError(f"unknown way {self.way!r}; use one of {', '.join(WAYS)}")
        self.secrets.update(p.bsn for p in self.dataset.patients)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return self.straat.run(coro, timeout)

    # -- tokens -------------------------------------------------------------------------------------------
    def preshare_tokens(self) -> None:
        """Give every dataset patient a fresh random token the reference DVA accepts (FHIR-only runs)."""
        for p in self.dataset.patients:
            token = p.token or secrets.token_urlsafe(24)
            self.dataset.add_patient(replace(p, token=token))
            self.tokens[p.id] = token
            self.secrets.add(token)

    async def token(self, patient_id: str) -> str:
        """The access token for ``patient_id``: obtained once per session, through the front channel (auto)
        or taken from the preshared tokens."""
        if patient_id in self.tokens:
            return self.tokens[patient_id]
        patient = self.dataset.patient(patient_id)
        if patient is None:
            raise Blocked(Outcome.ERROR, f"the dataset has no test patient {patient_id}")
        if self.way == "preshared":
            raise Blocked(Outcome.ERROR, f"no preshared token for {patient_id}")
        with self.recorder.case(f"setup:token:{patient_id}"), self.recorder.step("authorize"):
            try:
                result = await self.straat.pgo.authorize(PROVIDER, SERVICE_ID, self.straat.user_agent(patient.bsn))
            except PGOError as exc:
                outcome = Outcome.ERROR if is_transport_failure(exc) else Outcome.FAIL
                raise Blocked(outcome, f"no access token for {patient_id}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise Blocked(Outcome.ERROR, f"no access token for {patient_id}: {type(exc).__name__}: {exc}") from exc
        self.tokens[patient_id] = result.access_token
        self.secrets.add(result.access_token)
        return result.access_token

    # -- MP9 search -----------------------------------------------------------------------------------------
    async def search(self, scenario: Scenario, variant: str | None) -> dict[str, Any]:
        assert scenario.block and scenario.patient, f"{scenario.id} is not an MP9 search scenario"
        block = BLOCKS_BY_CODE[scenario.block]
        token = await self.token(scenario.patient)
        filters = [(k, expand(v, self._t())) for k, v in scenario.filters]
        service = await self.straat.pgo._service(PROVIDER, SERVICE_ID)
        with self.recorder.step("search"):
            try:
                await self.straat.pgo.search(service, token, block, variant or "json", *filters)
            except PGOError as exc:
                # the exchange is recorded (with its error); the checks classify what they can see
                if not is_transport_failure(exc):
                    raise Blocked(Outcome.FAIL, f"the search could not be completed: {exc}") from exc
            except Exception:
                pass
        return {"patient": scenario.patient, "block": block.code, "format": variant or "json"}

    def _t(self) -> Any:
        from datetime import date

        return date.fromisoformat(self.t) if self.t else date.today()
