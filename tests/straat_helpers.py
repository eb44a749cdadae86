"""Small helpers the straat-level tests share: the browser's GET and an authorize URL with overrides."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from mock_providers.straat import PGO, PROVIDER, Straat
from validatiestraat.medmij.mp9 import SERVICE_ID

SCOPE = f"{PROVIDER.removesuffix('@medmij')}~{SERVICE_ID}"


def front(straat: Straat, url: str) -> httpx.Response:
    return straat.run(straat.browser_http.get(url))


def authorize_url(straat: Straat, **overrides: str | None) -> str:
    """The reference PGO's authorize request; an override of None leaves that parameter out."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": PGO,
        "redirect_uri": straat.pgo.redirect_uri,
        "scope": SCOPE,
        "state": "s-123",
        **overrides,
    }
    query = {k: v for k, v in params.items() if v is not None}
    return f"{straat.origins['dva-front']}/oauth/authorize?{urlencode(query)}"
