"""The patient's browser, automated: follows redirects, logs in at the DigiD stub as a chosen test person
and answers the consent question, until it has delivered the DVA's answer to the PGO's redirect_uri.

It understands only the straat's own pages (a radio choice named ``bsn`` on the DigiD stub, a ``decision``
button on the consent page); a vendor's DVA with other pages is driven by hand (the ``manual`` way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from validatiestraat.web import forms

MAX_STEPS = 20


class UserAgentError(Exception):
    pass


@dataclass
class AutoUserAgent:
    http: httpx.AsyncClient  # front channel: trusts the straat, presents no client certificate
    bsn: str
    consent: bool = True
    #: stop before visiting a URL that starts with this (e.g. the redirect_uri, to see the code unused)
    stop_at: str | None = None
    visited: list[str] = field(default_factory=list)

    async def __call__(self, url: str) -> None:
        method, data = "GET", None
        for _ in range(MAX_STEPS):
            self.visited.append(url)
            if self.stop_at and url.startswith(self.stop_at):
                return
            response = await self.http.request(method, url, data=data)
            if response.is_redirect:
                url, method, data = urljoin(url, response.headers["location"]), "GET", None
                continue
            page_forms = forms(response.text) if "html" in response.headers.get("content-type", "") else []
            if not page_forms:
                return  # a page without a form: the end of the front channel (the PGO's or an error page)
            form = page_forms[0]
            fields = dict(form.fields)
            if "bsn" in form.choices:
                if self.bsn not in {value for value, _ in form.choices["bsn"]}:
                    raise UserAgentError("the DigiD stub does not offer this test person")
                fields["bsn"] = self.bsn
            for name, value in form.buttons:
                if name == "decision":
                    if value == ("allow" if self.consent else "deny"):
                        fields[name] = value
                elif name:
                    fields.setdefault(name, value)
            url, method, data = urljoin(url, form.action), form.method, fields
        raise UserAgentError(f"no end after {MAX_STEPS} steps: {self.visited[-3:]}")
