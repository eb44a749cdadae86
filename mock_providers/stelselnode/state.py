"""What the simulated Stelselnode publishes: the four lists, their history, and its fault switches.

Every change publishes a new version of that one list: Volgnummer + 1 and a fresh Tijdstempel, as the
Stelselnode does on every publication. A change that would make a list XSD-invalid is refused
(:class:`~validatiestraat.medmij.lists.ListError`), so the clean simulator never serves a bad list; the
fault switches exist for that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TypeVar
from urllib.parse import urlsplit

from validatiestraat.medmij.lists import (
    Gegevensdienst,
    Gegevensdienstnamenlijst,
    ListKind,
    MedMijList,
    OAuthclient,
    OAuthclientlist,
    Whitelist,
    Zorgaanbieder,
    Zorgaanbiederslijst,
    kind_of,
    validate,
)

FAULTS: Mapping[str, str] = MappingProxyType(
    {
        "stelselnode.replay_list": "serve the previously published version of each list (lower Volgnummer); "
        "a consumer must keep the list it holds",
        "stelselnode.invalid_list": "serve each list without its Volgnummer element (XSD-invalid); "
        "a consumer must refuse it",
    }
)

# Placeholders until the data-service catalogue pins real ids (protocol doc §6 item 9).
REFERENCE_SERVICES: Mapping[str, str] = MappingProxyType({"99999": "Medicatiegegevens (straat)"})
REFERENCE_ROLE = "MP-MGB"

_T = TypeVar("_T")
_M = TypeVar("_M", Zorgaanbiederslijst, OAuthclientlist, Gegevensdienstnamenlijst, Whitelist)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class StelselnodeState:
    """The current lists plus every earlier published version; safe to change while the app serves."""

    def __init__(self, lists: Iterable[MedMijList], *, clock: Callable[[], datetime] = _now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._history: dict[ListKind, list[MedMijList]] = {}
        self._faults: set[str] = set()
        for model in lists:
            self._history.setdefault(kind_of(model), []).append(validate(model))
        missing = {"zal", "ocl", "gnl", "whitelist"} - self._history.keys()
        if missing:
            raise ValueError(f"a Stelselnode publishes all four lists; missing: {', '.join(sorted(missing))}")

    @classmethod
    def from_parties(
        cls,
        providers: Iterable[Zorgaanbieder],
        clients: Iterable[OAuthclient],
        service_names: Mapping[str, str],
        *,
        extra_nodes: Iterable[str] = (),
        clock: Callable[[], datetime] = _now,
    ) -> StelselnodeState:
        """All four lists at Volgnummer 1; the Whitelist holds every client host and endpoint host."""
        providers, clients = tuple(providers), tuple(clients)
        hosts = [c.hostname for c in clients]
        for provider in providers:
            for service in provider.services:
                for uri in (service.authorization_uri, service.token_uri, *service.roles.values()):
                    hosts.append(urlsplit(uri).hostname or "")
        hosts.extend(extra_nodes)
        nodes = tuple(dict.fromkeys(h.lower() for h in hosts if h))
        moment = clock()
        return cls(
            [
                Zorgaanbiederslijst(moment, 1, providers),
                OAuthclientlist(moment, 1, clients),
                Gegevensdienstnamenlijst(moment, 1, dict(service_names)),
                Whitelist(moment, 1, nodes),
            ],
            clock=clock,
        )

    # ----------------------------------------------------------------------------------- reading

    def get(self, kind: ListKind) -> MedMijList:
        return self._history[kind][-1]

    def previous(self, kind: ListKind) -> MedMijList | None:
        """The version published before the current one, if any."""
        versions = self._history[kind]
        return versions[-2] if len(versions) > 1 else None

    @property
    def zal(self) -> Zorgaanbiederslijst:
        return self._typed("zal", Zorgaanbiederslijst)

    @property
    def ocl(self) -> OAuthclientlist:
        return self._typed("ocl", OAuthclientlist)

    @property
    def gnl(self) -> Gegevensdienstnamenlijst:
        return self._typed("gnl", Gegevensdienstnamenlijst)

    @property
    def whitelist(self) -> Whitelist:
        return self._typed("whitelist", Whitelist)

    def _typed(self, kind: ListKind, cls: type[_T]) -> _T:
        model = self.get(kind)
        assert isinstance(model, cls)
        return model

    # ---------------------------------------------------------------------------------- changing

    def update(self, model: MedMijList) -> MedMijList:
        """Publish ``model``'s content as the next version of its list (its own header is ignored)."""
        kind = kind_of(model)
        with self._lock:
            current = self._history[kind][-1]
            published = validate(replace(model, volgnummer=current.volgnummer + 1, tijdstempel=self._clock()))
            self._history[kind].append(published)
            return published

    def set_providers(self, providers: Iterable[Zorgaanbieder]) -> Zorgaanbiederslijst:
        return self._typed_update(replace(self.zal, providers=tuple(providers)))

    def add_oauth_client(self, client: OAuthclient) -> OAuthclientlist:
        if self.ocl.client(client.hostname) is not None:
            raise ValueError(f"{client.hostname} is already on the OCL")
        return self._typed_update(replace(self.ocl, clients=(*self.ocl.clients, client)))

    def remove_oauth_client(self, hostname: str) -> OAuthclientlist:
        if self.ocl.client(hostname) is None:
            raise KeyError(hostname)
        kept = tuple(c for c in self.ocl.clients if c.hostname != hostname.lower())
        return self._typed_update(replace(self.ocl, clients=kept))

    def set_whitelist(self, nodes: Iterable[str]) -> Whitelist:
        return self._typed_update(replace(self.whitelist, nodes=tuple(nodes)))

    def set_service_names(self, names: Mapping[str, str]) -> Gegevensdienstnamenlijst:
        return self._typed_update(replace(self.gnl, names=dict(names)))

    def _typed_update(self, model: _M) -> _M:
        published = self.update(model)
        assert isinstance(published, type(model))
        return published

    # ------------------------------------------------------------------------------------ faults

    @property
    def faults(self) -> frozenset[str]:
        return frozenset(self._faults)

    def enable_fault(self, name: str) -> None:
        if name not in FAULTS:
            raise KeyError(f"unknown Stelselnode fault {name!r}; known: {', '.join(FAULTS)}")
        self._faults.add(name)

    def disable_fault(self, name: str) -> None:
        self._faults.discard(name)


def reference_state(
    *,
    dva_base_url: str = "https://dva.straat.test",
    pgo_hostname: str = "pgo.straat.test",
    provider_name: str = "straathuisarts@medmij",
    services: Mapping[str, str] = REFERENCE_SERVICES,
    clock: Callable[[], datetime] = _now,
) -> StelselnodeState:
    """The lists of the built-in straat: one provider served by the DVA, one PGO, both whitelisted.

    ``dva_base_url`` may carry the loopback port (list deviation a). The service ids and role code are
    placeholders until the data-service catalogue supplies the real ones.
    """
    base = dva_base_url.rstrip("/")
    provider = Zorgaanbieder(
        provider_name,
        tuple(
            Gegevensdienst(
                id=service_id,
                authorization_uri=f"{base}/oauth/authorize",
                token_uri=f"{base}/oauth/token",
                roles={REFERENCE_ROLE: f"{base}/fhir"},
            )
            for service_id in services
        ),
    )
    client = OAuthclient(pgo_hostname, "Straat PGO", tuple(services))
    return StelselnodeState.from_parties([provider], [client], services, clock=clock)
