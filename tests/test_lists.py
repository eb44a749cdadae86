"""MedMij lists: models, XML, XSD validation with classified errors, the replay-refusing cache, scope."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from validatiestraat.medmij.lists import (
    FILE_NAMES,
    SPECS,
    Gegevensdienst,
    Gegevensdienstnamenlijst,
    ListCache,
    ListError,
    MedMijList,
    OAuthclient,
    OAuthclientlist,
    Whitelist,
    Zorgaanbieder,
    Zorgaanbiederslijst,
    format_tijdstempel,
    kind_of,
    parse_gnl,
    parse_list,
    parse_ocl,
    parse_whitelist,
    parse_zal,
    to_xml,
)
from validatiestraat.medmij.scope import Scope, ScopeError, format_scope, parse_scope

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DVA = "https://dva.straat.test:8443"


def service(service_id: str = "99999", base: str = DVA, **roles: str) -> Gegevensdienst:
    return Gegevensdienst(
        id=service_id,
        authorization_uri=f"{base}/oauth/authorize",
        token_uri=f"{base}/oauth/token",
        roles=roles or {"MP-MGB": f"{base}/fhir"},
    )


def make_zal(*providers: Zorgaanbieder, volgnummer: int = 1) -> Zorgaanbiederslijst:
    default = (
        Zorgaanbieder("testhuisarts@medmij", (service("99999"), service("42", **{"A": f"{DVA}/a"}))),
        Zorgaanbieder("anderezorgaanbieder@medmij", (service("99999", base="https://za2.straat.test"),)),
    )
    return Zorgaanbiederslijst(T0, volgnummer, providers or default)


def make_ocl(*clients: OAuthclient, volgnummer: int = 1) -> OAuthclientlist:
    default = (
        OAuthclient("pgo.straat.test", "Straat PGO", ("99999", "42")),
        OAuthclient("oudpgo.straat.test", "Oud PGO"),
    )
    return OAuthclientlist(T0, volgnummer, clients or default)


def make_whitelist(*nodes: str, volgnummer: int = 1) -> Whitelist:
    return Whitelist(T0, volgnummer, nodes or ("pgo.straat.test", "dva.straat.test"))


def make_gnl(volgnummer: int = 1, **names: str) -> Gegevensdienstnamenlijst:
    return Gegevensdienstnamenlijst(T0, volgnummer, names or {"99999": "Medicatiegegevens", "42": "Één dienst"})


ALL_SAMPLES = [make_zal(), make_ocl(), make_whitelist(), make_gnl()]


def rejected(model_or_data: MedMijList | bytes, kind: str = "zal") -> ListError:
    """Parse and return the ListError; fail the test when the list is accepted."""
    if isinstance(model_or_data, bytes):
        data = model_or_data
    else:
        kind, data = kind_of(model_or_data), to_xml(model_or_data)
    with pytest.raises(ListError) as info:
        parse_list(kind, data)  # type: ignore[arg-type]
    return info.value


# ------------------------------------------------------------------------------- round trip / valid


@pytest.mark.parametrize("model", ALL_SAMPLES, ids=lambda m: kind_of(m))
def test_round_trip_model_xml_model(model: MedMijList) -> None:
    data = to_xml(model)
    spec = SPECS[kind_of(model)]
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert f'<{spec.root} xmlns="{spec.namespace}">'.encode() in data  # default namespace, no prefix
    assert b"\n  <Tijdstempel>2026-01-01T12:00:00Z</Tijdstempel>\n" in data  # pretty-printed
    assert parse_list(kind_of(model), data) == model


def test_file_names_map_to_kinds() -> None:
    assert FILE_NAMES == {
        "MedMij_Zorgaanbiederslijst.xml": "zal",
        "MedMij_OAuthclientlist.xml": "ocl",
        "MedMij_Gegevensdienstnamenlijst.xml": "gnl",
        "MedMij_Whitelist.xml": "whitelist",
    }


def test_hand_written_minimal_zal_parses() -> None:
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<Zorgaanbiederslijst xmlns="xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/">
  <Tijdstempel>2026-01-01T00:00:00.5+01:00</Tijdstempel><Volgnummer>7</Volgnummer>
  <Zorgaanbieders><Zorgaanbieder>
    <Zorgaanbiedernaam>testhuisarts@medmij</Zorgaanbiedernaam>
    <Gegevensdiensten><Gegevensdienst>
      <GegevensdienstId>99999</GegevensdienstId>
      <AuthorizationEndpoint><AuthorizationEndpointuri>https://dva.example.test/oauth/authorize</AuthorizationEndpointuri></AuthorizationEndpoint>
      <TokenEndpoint><TokenEndpointuri>https://dva.example.test/oauth/token</TokenEndpointuri></TokenEndpoint>
      <Systeemrollen><Systeemrol>
        <Systeemrolcode>MP-MGB</Systeemrolcode>
        <ResourceEndpoint><ResourceEndpointuri>https://dva.example.test/fhir</ResourceEndpointuri></ResourceEndpoint>
      </Systeemrol></Systeemrollen>
    </Gegevensdienst></Gegevensdiensten>
  </Zorgaanbieder></Zorgaanbieders>
</Zorgaanbiederslijst>"""
    zal = parse_zal(data)
    assert zal.volgnummer == 7
    assert zal.tijdstempel == datetime(2025, 12, 31, 23, 0, 0, 500000, tzinfo=UTC)
    found = zal.service("testhuisarts", "99999")
    assert found is not None and found.resource_uri("MP-MGB") == "https://dva.example.test/fhir"


def test_empty_lists_are_valid_where_the_structure_allows() -> None:
    assert parse_zal(to_xml(Zorgaanbiederslijst(T0, 1))).providers == ()
    assert parse_ocl(to_xml(OAuthclientlist(T0, 1))).clients == ()
    assert parse_gnl(to_xml(Gegevensdienstnamenlijst(T0, 1))).names == {}
    assert rejected(Whitelist(T0, 1)).kind == "schema"  # MedMijNode is 1..*


def test_endpoint_port_is_allowed_on_every_uri_deviation_a() -> None:
    zal = parse_zal(to_xml(make_zal()))
    assert zal.service("testhuisarts@medmij", "99999") == service("99999")
    assert zal.providers[0].services[0].authorization_uri == "https://dva.straat.test:8443/oauth/authorize"


def test_ocl_service_ids_are_optional_deviation_b() -> None:
    ocl = parse_ocl(to_xml(make_ocl()))
    pgo, old = ocl.client("pgo.straat.test"), ocl.client("oudpgo.straat.test")
    assert pgo is not None and pgo.service_ids == ("99999", "42")
    assert pgo.qualified_for("42") and not pgo.qualified_for("7")
    assert old is not None and old.service_ids is None and old.qualified_for("7")
    assert b"<Gegevensdiensten>" not in to_xml(make_ocl(OAuthclient("oudpgo.straat.test", "Oud PGO")))


def test_non_utc_tijdstempel_keeps_its_offset() -> None:
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert format_tijdstempel(moment) == "2026-03-01T09:30:00+02:00"
    assert parse_whitelist(to_xml(replace(make_whitelist(), tijdstempel=moment))).tijdstempel == moment
    with pytest.raises(ValueError, match="time zone"):
        format_tijdstempel(datetime(2026, 1, 1))


# ----------------------------------------------------------------------------------- lookups


def test_lookups() -> None:
    zal, ocl, wl, gnl = make_zal(), make_ocl(), make_whitelist(), make_gnl()
    provider = zal.provider("testhuisarts")
    assert provider is not None and provider is zal.provider("testhuisarts@medmij")
    assert provider.scope_name == "testhuisarts"
    assert zal.provider("onbekend") is None and zal.service("testhuisarts", "1") is None
    assert zal.service("testhuisarts", "42") == service("42", **{"A": f"{DVA}/a"})
    client = ocl.client("PGO.Straat.Test")
    assert client is not None and client.organisation_name == "Straat PGO"
    assert ocl.client("nope.straat.test") is None
    assert wl.contains("DVA.straat.TEST") and wl.contains("dva.straat.test.")
    assert not wl.contains("evil.straat.test")
    assert gnl.name("42") == "Één dienst" and gnl.name("1") is None


# ------------------------------------------------------------------------------ rejections


def test_malformed_xml_is_classified_with_line() -> None:
    error = rejected(b'<?xml version="1.0"?>\n<Whitelist>\n  <Tijdstempel>\n</Whitelist>', "whitelist")
    assert error.kind == "xml" and error.line == 4 and error.list_kind == "whitelist"
    assert rejected(b"", "ocl").kind == "xml"


def test_doctype_is_refused() -> None:
    data = to_xml(make_whitelist()).replace(b"?>\n", b'?>\n<!DOCTYPE Whitelist [<!ENTITY x "dva.straat.test">]>\n', 1)
    assert rejected(data, "whitelist").kind == "xml"


def test_wrong_namespace_and_wrong_root() -> None:
    data = to_xml(make_zal()).replace(b"zorgaanbiederslijst/release2/", b"zorgaanbiederslijst/release3/")
    error = rejected(data, "zal")
    assert error.kind == "root" and error.line == 2 and "release3" in error.message
    error = rejected(to_xml(make_ocl()), "zal")
    assert error.kind == "root" and "OAuthclientlist" in error.message
    no_ns = to_xml(make_whitelist()).replace(b' xmlns="xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/"', b"")
    assert rejected(no_ns, "whitelist").kind == "root"


def test_missing_volgnummer_names_the_line() -> None:
    data = to_xml(make_ocl()).replace(b"  <Volgnummer>1</Volgnummer>\n", b"")
    error = rejected(data, "ocl")
    assert error.kind == "schema" and error.line == 4  # the element found where Volgnummer belongs
    assert "Volgnummer" in error.message and "{" not in error.message  # Clark notation stripped


@pytest.mark.parametrize("text", ["2026-01-01T12:00:00", "2026-01-01", "2026-01-01T24:00:00Z", "gisteren"])
def test_tijdstempel_needs_a_full_datetime_with_zone(text: str) -> None:
    data = to_xml(make_gnl()).replace(b"2026-01-01T12:00:00Z", text.encode())
    assert rejected(data, "gnl").kind == "schema"


@pytest.mark.parametrize("number", [b"0", b"-1", b"een"])
def test_volgnummer_must_be_positive(number: bytes) -> None:
    data = to_xml(make_gnl()).replace(b"<Volgnummer>1<", b"<Volgnummer>" + number + b"<")
    assert rejected(data, "gnl").kind == "schema"


@pytest.mark.parametrize(
    ("model", "constraint"),
    [
        (
            make_zal(Zorgaanbieder("dubbel@medmij", (service(),)), Zorgaanbieder("dubbel@medmij", (service(),))),
            "UniekeZorgaanbiedernaam",
        ),
        (
            make_zal(Zorgaanbieder("dubbel@medmij", (service("1"), service("1")))),
            "UniekeGegevensdienstIdPerZorgaanbieder",
        ),
        (
            make_ocl(OAuthclient("pgo.straat.test", "Een PGO"), OAuthclient("pgo.straat.test", "Twee PGO")),
            "UniekeHostname",
        ),
        (
            make_ocl(OAuthclient("pgo.straat.test", "Een PGO", ("1", "1"))),
            "UniekeGegevensdienstIdPerOAuthclient",
        ),
        (make_whitelist("dva.straat.test", "pgo.straat.test", "dva.straat.test"), "UniekeMedMijNode"),
    ],
    ids=["zorgaanbiedernaam", "gegevensdienstid", "hostname", "ocl-gegevensdienstid", "medmijnode"],
)
def test_duplicate_keys_are_refused(model: MedMijList, constraint: str) -> None:
    error = rejected(model)
    assert error.kind == "schema" and constraint in error.message and error.line is not None


def test_duplicate_systeemrolcode_and_gnl_id_are_refused() -> None:
    two_roles = service("1", **{"A": f"{DVA}/a", "B": f"{DVA}/b"})
    data = to_xml(make_zal(Zorgaanbieder("testhuisarts@medmij", (two_roles,))))
    assert parse_zal(data).service("testhuisarts", "1") == two_roles
    data = data.replace(b"<Systeemrolcode>B<", b"<Systeemrolcode>A<")
    assert "UniekeSysteemrolcodePerGegevensdienst" in rejected(data, "zal").message
    data = to_xml(make_gnl()).replace(b"<GegevensdienstId>42<", b"<GegevensdienstId>99999<")
    assert "UniekeGegevensdienstId" in rejected(data, "gnl").message


@pytest.mark.parametrize(
    "base",
    [
        "http://dva.straat.test",  # not https
        "https://DVA.straat.test",  # uppercase host
        "https://localhost",  # not a FQDN
        "https://dva.straat.test:0",  # port 0
        "https://dva.straat.test:123456",  # port too long
        "https://dva_straat.test",  # underscore
    ],
)
def test_bad_endpoint_uris_are_refused(base: str) -> None:
    zal = make_zal(Zorgaanbieder("testhuisarts@medmij", (service(base=base),)))
    assert rejected(zal).kind == "schema"


def test_endpoint_with_query_is_refused() -> None:
    bad = replace(service(), token_uri=f"{DVA}/oauth/token?x=1")
    assert rejected(make_zal(Zorgaanbieder("testhuisarts@medmij", (bad,)))).kind == "schema"


@pytest.mark.parametrize(
    "name", ["TestHuisarts@medmij", "huisarts", "ab@medmij", "huis-arts@medmij", "x" * 51 + "@medmij"]
)
def test_bad_zorgaanbiedernaam_is_refused(name: str) -> None:
    assert rejected(make_zal(Zorgaanbieder(name, (service(),)))).kind == "schema"


@pytest.mark.parametrize("host", ["PGO.straat.test", "pgo", "pgo.straat.test.", "-pgo.straat.test", "pgo..test"])
def test_bad_hostnames_are_refused(host: str) -> None:
    assert rejected(make_ocl(OAuthclient(host, "Een PGO"))).kind == "schema"
    assert rejected(make_whitelist(host)).kind == "schema"


def test_length_limits_on_names() -> None:
    assert rejected(make_ocl(OAuthclient("pgo.straat.test", "AB"))).kind == "schema"
    assert rejected(make_gnl(**{"1": "x" * 51})).kind == "schema"
    assert rejected(make_gnl(**{"1" * 31: "Naam"})).kind == "schema"


# ----------------------------------------------------------------------------------- cache


def test_cache_keeps_the_highest_volgnummer() -> None:
    cache = ListCache([make_whitelist(volgnummer=3)])
    assert cache.accept(make_whitelist("dva.straat.test", volgnummer=4)) is True
    wl = cache.whitelist
    assert wl is not None and wl.volgnummer == 4 and not wl.contains("pgo.straat.test")

    with pytest.raises(ListError) as info:
        cache.accept(make_whitelist(volgnummer=3))
    assert info.value.kind == "replay" and info.value.list_kind == "whitelist"
    assert cache.get("whitelist") == wl  # still the newer list


def test_cache_equal_volgnummer_same_content_is_noop_different_is_conflict() -> None:
    cache = ListCache()
    assert cache.zal is None
    assert cache.accept_xml("zal", to_xml(make_zal(volgnummer=5))) is True
    assert cache.accept_xml("zal", to_xml(make_zal(volgnummer=5))) is False
    with pytest.raises(ListError) as info:
        cache.accept(make_zal(Zorgaanbieder("ander@medmij", (service(),)), volgnummer=5))
    assert info.value.kind == "conflict"
    zal = cache.zal
    assert zal is not None and zal.provider("testhuisarts") is not None


def test_cache_refuses_invalid_xml_and_keeps_the_held_list() -> None:
    cache = ListCache([make_ocl(volgnummer=1)])
    data = to_xml(make_ocl(OAuthclient("PGO.straat.test", "Een PGO"), volgnummer=2))
    with pytest.raises(ListError) as info:
        cache.accept_xml("ocl", data)
    assert info.value.kind == "schema"
    assert cache.ocl == make_ocl(volgnummer=1)
    assert cache.gnl is None and cache.whitelist is None


# ----------------------------------------------------------------------------------- scope


@pytest.mark.parametrize(
    ("text", "provider", "ids"),
    [
        ("eenofanderezorgaanbieder~42", "eenofanderezorgaanbieder", ("42",)),
        ("eenofanderezorgaanbieder~42 eenofanderezorgaanbieder~48", "eenofanderezorgaanbieder", ("42", "48")),
        ("abc~1 abc~2 abc~3", "abc", ("1", "2", "3")),
        ("testhuisarts~MM-1.0.0-BZB", "testhuisarts", ("MM-1.0.0-BZB",)),
    ],
)
def test_scope_accepts(text: str, provider: str, ids: tuple[str, ...]) -> None:
    scope = parse_scope(text)
    assert scope == Scope(provider, ids)
    assert format_scope(scope) == str(scope) == text
    assert scope.zorgaanbiedernaam == provider + "@medmij"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("42", "not <provider>"),  # AS 1.x bare id
        ("a~1 b~1", "bad provider"),
        ("abc~1 xyz~2", "more than one provider"),
        ("abc~1 abc~1", "more than once"),
        ("abc~1  abc~2", "exactly one space"),
        (" abc~1", "exactly one space"),
        ("abc~1 ", "exactly one space"),
        ("abc~1\tabc~2", "bad GegevensdienstId"),
        ("abc~", "bad GegevensdienstId"),
        ("~1", "bad provider"),
        ("Abc~1", "bad provider"),
        ("abc@medmij~1", "bad provider"),
        ("abc~1~2", "bad GegevensdienstId"),
        ("abc~1/2", "bad GegevensdienstId"),
        ("subscribe~30/abc~1", "unsupported"),
        ("abc~" + "1" * 31, "bad GegevensdienstId"),
    ],
)
def test_scope_rejects(text: str, why: str) -> None:
    with pytest.raises(ScopeError, match=why):
        parse_scope(text)


def test_scope_single_pair_for_delen_and_building() -> None:
    assert parse_scope("abc~1", single=True).service_ids == ("1",)
    with pytest.raises(ScopeError, match="exactly one"):
        parse_scope("abc~1 abc~2", single=True)
    scope = Scope.of("testhuisarts@medmij", ["99999", "42"])
    assert format_scope(scope) == "testhuisarts~99999 testhuisarts~42"
    with pytest.raises(ScopeError):
        Scope.of("testhuisarts", [])
    with pytest.raises(ScopeError):
        Scope("testhuisarts", ("1", "1"))
