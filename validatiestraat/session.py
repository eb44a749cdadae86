"""A certification session for a DVA: the straat around it, the recorder on every tap, and the way to get a
patient's access token: ``auto`` (the automatic user agent walks the front channel: the straat's DigiD stub and
consent pages), ``manual`` (a person opens the printed authorize URL in a browser; the session waits for the
redirect on the PGO callback) or ``preshared`` (tokens per patient, FHIR-only: the OAuth front channel is not
driven, so what depends on it is skipped and the run's scope is ``fhir-only``).

The session drives; it never judges. Driving a case records exchanges under the case id and returns the
facts the checks need (which patient, which token step). When driving cannot go on, :class:`Blocked` says
whether the SUT is to blame (``fail``) or the environment (``error``).
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, TypeVar

import httpx

from mock_providers.pgo.client import PGOError, TokenResult
from mock_providers.straat import PROVIDER, Straat
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.fhir.store import PatientEntry, Store
from validatiestraat.fhir.tdates import expand
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE, SERVICE_ID
from validatiestraat.results import Outcome
from validatiestraat.scenarios import Scenario

T = TypeVar("T")
WAYS = ("auto", "manual", "preshared")
#: a probe scenario with this tag needs no OAuth authorization and also runs with preshared tokens
FHIR_ONLY_TAG = "fhir-only"


@dataclass(frozen=True)
class ManualLogin:
    """What a person needs to log in by hand for one test patient. The BSN is a fake test BSN: show it on the
    terminal only, never in a report."""

    patient_id: str
    name: str
    bsn: str
    authorize_url: str
    timeout: float


ManualPrompt = Callable[[ManualLogin], None]


def print_manual_login(login: ManualLogin) -> None:
    """The default prompt of the manual way: on stderr, never in the reports."""
    print(
        f"\n[manual] log in as test person {login.name} (fake test BSN {login.bsn}, patient {login.patient_id})\n"
        f"[manual] open in a browser within {login.timeout:g} s:\n{login.authorize_url}\n",
        file=sys.stderr,
        flush=True,
    )


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
    token_blocked: dict[str, Blocked] = field(default_factory=dict)  # patient id -> why no token came
    provider: str = PROVIDER  # Zorgaanbiedernaam of the DVA under test, as on the ZAL
    service_id: str = SERVICE_ID
    manual_timeout: float = 300.0  # seconds to wait for the redirect of a manual login
    prompt: ManualPrompt = print_manual_login  # how the manual way shows the authorize URL
    target: str = "reference"  # the DVA's FHIR base URL, or "reference" for the straat's own DVA
    #: patients whose manual login timed out: not asked again (one wait per patient, not one per case)

    def __post_init__(self) -> None:
        if self.way not in WAYS:
            raise ValueError(f"unknown way {self.way!r}; use one of {', '.join(WAYS)}")
        self.secrets.update(p.bsn for p in self.dataset.patients)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self.straat.run(coro, timeout or max(120.0, self.manual_timeout + 60.0))

    @property
    def front_channel(self) -> bool:
        """False in a preshared run: nothing drives the OAuth front channel, so the probes that need an
        authorization (codes, redirects, consent) cannot run and the run certifies the FHIR side only."""
        return self.way != "preshared"

    @property
    def scope(self) -> str:
        return "full" if self.front_channel else "fhir-only"

    @property
    def meta(self) -> dict[str, Any]:
        """What a report says about this session (no secrets)."""
        return {"target": self.target, "provider": self.provider, "way": self.way, "scope": self.scope, "t": self.t}

    def gate_probe(self, scenario: Scenario) -> None:
        """Called before a probe is driven: in a preshared run only probes tagged ``fhir-only`` (they need no
        authorization: TLS handshakes, FHIR calls without a token) run; the rest are skipped, with the reason."""
        if FHIR_ONLY_TAG not in scenario.tags:
            self.require_front_channel(f"probe {scenario.id}")

    def require_front_channel(self, what: str) -> None:
        """Raise ``Blocked(SKIP)`` when ``what`` needs the OAuth front channel and this run has none."""
        if not self.front_channel:
            raise Blocked(
                Outcome.SKIP,
                f"{what} needs the OAuth front channel; this run uses preshared tokens (scope fhir-only), so the "
                "OAuth authorization and token interface are not certified by it",
            )

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
        if patient_id in self.token_blocked:  # tried once this session: do not make the DVA (and us) wait again
            earlier = self.token_blocked[patient_id]
            raise Blocked(earlier.outcome, f"{earlier} (first attempt; not retried)", *earlier.exchanges)
        try:
            return await self._obtain_token(patient_id)
        except Blocked as exc:
            self.token_blocked[patient_id] = exc
            raise

    async def _obtain_token(self, patient_id: str) -> str:
        patient = self.dataset.patient(patient_id)
        if patient is None:
            raise Blocked(Outcome.ERROR, f"the dataset has no test patient {patient_id}")
        if self.way == "preshared":
            raise Blocked(Outcome.ERROR, f"no preshared token for {patient_id}")
        with self.recorder.case(f"setup:token:{patient_id}"), self.recorder.step("authorize"):
            try:
                if self.way == "manual":
                    result = await self._manual_token(patient)
                else:
                    user_agent = self.straat.user_agent(patient.bsn)
                    result = await self.straat.pgo.authorize(self.provider, self.service_id, user_agent)
            except PGOError as exc:
                outcome = Outcome.ERROR if is_transport_failure(exc) else Outcome.FAIL
                raise Blocked(outcome, f"no access token for {patient_id}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise Blocked(Outcome.ERROR, f"no access token for {patient_id}: {type(exc).__name__}: {exc}") from exc
        self.tokens[patient_id] = result.access_token
        self.secrets.add(result.access_token)
        return result.access_token

    async def _manual_token(self, patient: PatientEntry) -> TokenResult:
        """Show the authorize URL to a person and wait for the DVA's redirect on the PGO callback."""
        flow = await self.straat.pgo.start(self.provider, self.service_id)
        try:
            self.prompt(ManualLogin(patient.id, patient.name, patient.bsn, flow.authorize_url, self.manual_timeout))
            try:
                return await asyncio.wait_for(asyncio.shield(flow.done), self.manual_timeout)
            except TimeoutError:
                raise Blocked(
                    Outcome.ERROR,
                    f"no redirect within {self.manual_timeout:g} s on the PGO callback for {patient.id} (manual way)",
                ) from None
        finally:
            self.straat.pgo.pending.pop(flow.state, None)

    # -- MP9 search -----------------------------------------------------------------------------------------
    async def search(self, scenario: Scenario, variant: str | None) -> dict[str, Any]:
        assert scenario.block and scenario.patient, f"{scenario.id} is not an MP9 search scenario"
        block = BLOCKS_BY_CODE[scenario.block]
        token = await self.token(scenario.patient)
        filters = [(k, expand(v, self._t())) for k, v in scenario.filters]
        service = await self.straat.pgo._service(self.provider, self.service_id)
        with self.recorder.step("search"):
            try:
                await self.straat.pgo.search(service, token, block, variant or "json", *filters, parse=False)
            except PGOError as exc:
                # the exchange is recorded (with its error); the checks classify what they can see
                if not is_transport_failure(exc):
                    raise Blocked(Outcome.FAIL, f"the search could not be completed: {exc}") from exc
            except Exception:
                pass
        return {"patient": scenario.patient, "block": block.code, "format": variant or "json"}

    def _t(self) -> date:
        return date.fromisoformat(self.t) if self.t else date.today()
