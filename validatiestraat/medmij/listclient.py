"""A party's view of the Stelselnode: download the lists, validate them, never go back to an older one.

DVA and PGO both keep their lists here. A refresh downloads each list it follows, validates it against the
XSD and hands it to the :class:`ListCache`, which refuses replays. A failed download or an invalid list keeps
the list held before and is remembered in :attr:`ListClient.errors` (a party must not fall back to trusting
nothing or everything when the Stelselnode misbehaves).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import httpx

from validatiestraat.medmij.lists import SPECS, ListCache, ListError, ListKind


class ListClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        kinds: Iterable[ListKind] = ("zal", "ocl", "gnl", "whitelist"),
        max_age: float = 60.0,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self.kinds = tuple(kinds)
        self.max_age = max_age
        self.cache = ListCache()
        self.errors: dict[ListKind, str] = {}
        self._fetched_at: float | None = None

    def url(self, kind: ListKind) -> str:
        return f"{self.base_url}/{SPECS[kind].file_name}"

    def invalidate(self) -> None:
        """Make the next :meth:`fresh` download again (thread-safe: a plain assignment)."""
        self._fetched_at = None

    async def refresh(self) -> None:
        for kind in self.kinds:
            try:
                response = await self._http.get(self.url(kind))
                response.raise_for_status()
                self.cache.accept_xml(kind, response.content)
                self.errors.pop(kind, None)
            except (httpx.HTTPError, ListError) as exc:
                self.errors[kind] = f"{type(exc).__name__}: {exc}"
        self._fetched_at = time.monotonic()

    async def fresh(self) -> ListCache:
        """The cache, refreshed first when it is older than ``max_age`` or invalidated."""
        if self._fetched_at is None or time.monotonic() - self._fetched_at > self.max_age:
            await self.refresh()
        return self.cache
