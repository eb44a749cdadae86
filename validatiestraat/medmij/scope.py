"""The OAuth ``scope`` of MedMij Afsprakenstelsel 2.x for Verzamelen and Delen.

A scope is a space-separated list of ``<zorgaanbiedernaam without @medmij>~<GegevensdienstId>`` pairs, all
naming the same provider (Verzamelen), exactly one pair for Delen. Example:
``eenofanderezorgaanbieder~42 eenofanderezorgaanbieder~48``. The AS 1.x form (a bare GegevensdienstId) is
outdated and refused. Abonneren (``subscribe~<days>/…``) and representation (``onbehalfof…``) tokens are
not handled here and are refused with a message saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from validatiestraat.medmij.lists import PROVIDER_SUFFIX

# Zorgaanbiedernaam is [a-z]+@medmij with 10-57 characters, so the bare name has 3-50.
_PROVIDER = re.compile(r"[a-z]{3,50}")
# RFC 6749 scope-token characters, minus the separators "~" and "/" that MedMij gives a meaning.
_SERVICE_ID = re.compile(r"[!#-.0-\[\]-}]{1,30}")
_UNSUPPORTED = ("subscribe~", "onbehalfof")


class ScopeError(ValueError):
    """A scope that does not follow the grammar or the rules (one provider, no duplicates, not empty)."""


@dataclass(frozen=True)
class Scope:
    provider: str  # without @medmij, as it appears in the scope
    service_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not _PROVIDER.fullmatch(self.provider):
            raise ScopeError(f"bad provider name {self.provider!r}: expected 3-50 lowercase letters a-z")
        if not self.service_ids:
            raise ScopeError("a scope needs at least one GegevensdienstId")
        for service_id in self.service_ids:
            if not _SERVICE_ID.fullmatch(service_id):
                raise ScopeError(f"bad GegevensdienstId {service_id!r}")
        duplicates = sorted({s for s in self.service_ids if self.service_ids.count(s) > 1})
        if duplicates:
            raise ScopeError(f"GegevensdienstId requested more than once: {', '.join(duplicates)}")

    @classmethod
    def of(cls, provider: str, service_ids: Iterable[str]) -> Scope:
        """Build a scope; ``provider`` may be given with or without ``@medmij``."""
        return cls(provider.removesuffix(PROVIDER_SUFFIX), tuple(service_ids))

    @property
    def zorgaanbiedernaam(self) -> str:
        """The provider's name as on the ZAL."""
        return self.provider + PROVIDER_SUFFIX

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(f"{self.provider}~{service_id}" for service_id in self.service_ids)

    def __str__(self) -> str:
        return format_scope(self)


def parse_scope(text: str, *, single: bool = False) -> Scope:
    """Parse a scope string; ``single=True`` demands exactly one pair (Delen). Raises :class:`ScopeError`."""
    if not text:
        raise ScopeError("empty scope")
    tokens = text.split(" ")
    if "" in tokens:
        raise ScopeError("scope tokens must be separated by exactly one space (no leading or trailing space)")
    providers: list[str] = []
    service_ids: list[str] = []
    for token in tokens:
        if token.startswith(_UNSUPPORTED):
            raise ScopeError(f"unsupported scope token {token!r} (Abonneren/vertegenwoordiging)")
        provider, tilde, service_id = token.partition("~")
        if not tilde:
            raise ScopeError(f"scope token {token!r} is not <provider>~<GegevensdienstId>")
        if not _PROVIDER.fullmatch(provider):
            raise ScopeError(f"bad provider name {provider!r} in scope token {token!r}")
        if not _SERVICE_ID.fullmatch(service_id):
            raise ScopeError(f"bad GegevensdienstId {service_id!r} in scope token {token!r}")
        providers.append(provider)
        service_ids.append(service_id)
    if len(set(providers)) > 1:
        raise ScopeError(f"scope names more than one provider: {', '.join(sorted(set(providers)))}")
    if single and len(service_ids) != 1:
        raise ScopeError(f"expected exactly one provider~GegevensdienstId pair, got {len(service_ids)}")
    return Scope(providers[0], tuple(service_ids))


def format_scope(scope: Scope) -> str:
    return " ".join(scope.pairs)
