"""List probes: does the DVA follow the OAuth client list (OCL) the Stelselnode publishes (medmij-protocol.md
§1.3, §2)?

The straat's Stelselnode is the harness's own, so these probes change the OCL: a client that never was on it, a
client put on it for other GegevensdienstIds than the DVA's, and the same client once taken off again. The
straat's own DVA is told to re-read its lists at once (it would otherwise keep them for its cache age); a
vendor's DVA must have refreshed them in its own time, which the check ``lists.ocl-service`` reports as an
error (not a failure) when it evidently has not.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from validatiestraat.checks import lists as C
from validatiestraat.checks.oauth import BAD_CLIENT
from validatiestraat.medmij.lists import OAuthclient
from validatiestraat.probes import probe
from validatiestraat.probes.oauth import target, walk
from validatiestraat.results import Outcome
from validatiestraat.scenarios import Scenario
from validatiestraat.session import Blocked, DvaSession

PROBE_ORGANISATION = "Validatiestraat probe-PGO"
#: a GegevensdienstId the probe client is listed for instead of the DVA's (any id other than the one asked for)
OTHER_SERVICE_ID = "990001"


def _domain(hostname: str) -> str:
    return hostname.split(".", 1)[1] if "." in hostname else hostname


def _dva_rereads_lists(session: DvaSession) -> None:
    """Make the straat's reference DVA download the lists again on its next request (a vendor's DVA has no such
    switch; its list cache is its own)."""
    dva_lists = getattr(session.straat, "dva_lists", None)
    if dva_lists is not None:
        dva_lists.invalidate()


@probe("lists.unknown-client")
async def unknown_client(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """A client_id that is not on the OCL (with a redirect_uri on that host), and no client_id at all (with the
    PGO's own redirect_uri)."""
    t = await target(session, scenario)
    stranger = f"onbekend-pgo.{_domain(t.client_id)}"
    if session.straat.stelselnode.ocl.client(stranger) is not None:
        raise Blocked(Outcome.ERROR, f"{stranger} is on the OCL; the probe needs a client_id that is not")
    redirect = f"https://{stranger}{urlsplit(t.redirect_uri).path}"
    url = t.authorize_url(client_id=stranger, redirect_uri=redirect)
    await walk(session, C.UNKNOWN_CLIENT, url, t.bsn, redirect)
    await walk(session, BAD_CLIENT + "missing", t.authorize_url(client_id=None), t.bsn, t.redirect_uri)
    return {"patient": t.patient_id, "client_id": stranger}


@probe("lists.ocl-service")
async def ocl_service(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """A client on the OCL for another GegevensdienstId asks for the DVA's: invalid_scope. Then the client is taken
    off the OCL and asks again: no authorization at all."""
    t = await target(session, scenario)
    stelselnode = session.straat.stelselnode
    client = OAuthclient(f"probe-pgo.{_domain(t.client_id)}", PROBE_ORGANISATION, (OTHER_SERVICE_ID,))
    if client.service_ids and t.service_id in client.service_ids:
        raise Blocked(Outcome.ERROR, f"the probe client must not be listed for {t.service_id}")
    redirect = f"https://{client.hostname}{urlsplit(t.redirect_uri).path}"
    url = t.authorize_url(client_id=client.hostname, redirect_uri=redirect)
    if stelselnode.ocl.client(client.hostname) is not None:  # left over from an interrupted run
        stelselnode.remove_oauth_client(client.hostname)
    published = stelselnode.add_oauth_client(client)
    try:
        _dva_rereads_lists(session)
        await walk(session, C.UNLISTED_SERVICE, url, t.bsn, redirect)
    finally:
        withdrawn = stelselnode.remove_oauth_client(client.hostname)
        _dva_rereads_lists(session)
    await walk(
        session, C.REMOVED_CLIENT, t.authorize_url(client_id=client.hostname, redirect_uri=redirect), t.bsn, redirect
    )
    return {
        "patient": t.patient_id,
        "client_id": client.hostname,
        "ocl_services": list(client.service_ids or ()),
        "ocl_volgnummer_listed": published.volgnummer,
        "ocl_volgnummer_removed": withdrawn.volgnummer,
    }
