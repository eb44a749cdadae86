"""Redaction: every kind of secret, in every position an exchange can carry it, leaves as a stable mark."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote

import pytest

from validatiestraat.evidence.exchange import Exchange
from validatiestraat.evidence.redact import BSN_SYSTEM, Redactor, forms, looks_opaque

TOKEN = "tok_4f8Qz-2kLmN9pR7sT1uV3wX5yZ"
REFRESH = "rfr_9aB8cD7eF6gH5iJ4kL3mN2"
CODE = "c0de-Xy12Zw34Vu56Ts78"
SAMLART = "AAQAAbcdEF123456ghIJ"
RELAY = "rly-77Yh3Kq0Pz"
SESSION = "sess-4Rt9Lm2Qx8"
CSRF = "csrf-Zq81Wv05Hk"
STATE = "st4te-Kept-In-Clear-0123"
BSN = "999911120"  # known: given to the redactor
BSN_FHIR = "999922233"  # unknown: only its FHIR identifier position tells
FHIR_JSON = "application/fhir+json"


def x(**kw: object) -> Exchange:
    base: dict[str, object] = {
        "id": "x00001",
        "case": "c",
        "step": "s",
        "sender": "harness",
        "receiver": "dva",
        "method": "GET",
        "url": "https://dva.test/",
        "request_headers": [],
        "request_body": b"",
        "status": 200,
    }
    base.update(kw)
    return Exchange(**base)  # type: ignore[arg-type]


def dump(exchange: Exchange) -> str:
    return json.dumps(exchange.to_json())


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in forms(secret):
            assert form not in text, f"{secret!r} left in the output as {form!r}"


def test_authorization_header_bearer_token() -> None:
    r = Redactor()
    out = r.exchange(x(request_headers=[("Authorization", f"Bearer {TOKEN}"), ("Accept", "application/fhir+json")]))
    assert out.header("authorization", response=False).startswith("Bearer [redacted:token:")
    assert out.header("accept", response=False) == "application/fhir+json"
    assert_clean(dump(out), TOKEN)


def test_basic_credentials_and_cookies() -> None:
    r = Redactor()
    out = r.exchange(
        x(
            request_headers=[("Authorization", "Basic dXNlcjpzZWNyZXRwdw=="), ("Cookie", "sid=abcdef123456; lang=nl")],
            response_headers=[("Set-Cookie", "sid=zyxwvu987654; Path=/; HttpOnly")],
        )
    )
    text = dump(out)
    assert_clean(text, "dXNlcjpzZWNyZXRwdw==", "abcdef123456", "zyxwvu987654")
    assert "Path=/; HttpOnly" in out.header("set-cookie")
    assert out.header("cookie", response=False).startswith("sid=[redacted:cookie:")


def test_code_in_location_and_callback_url_and_token_form_all_get_the_same_mark() -> None:
    r = Redactor()
    consent = x(
        id="x1",
        method="POST",
        status=303,
        response_headers=[("location", f"https://pgo.test/cb?code={CODE}&state={STATE}")],
    )
    callback = x(id="x2", url=f"https://pgo.test/cb?code={CODE}&state={STATE}")
    token = x(
        id="x3",
        method="POST",
        url="https://dva.test/oauth/token",
        request_body=f"grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fpgo.test%2Fcb".encode(),
        response_headers=[("content-type", "application/json")],
        response_body=json.dumps({"access_token": TOKEN, "refresh_token": REFRESH, "token_type": "Bearer"}).encode(),
    )
    replay = x(
        id="x4",
        method="POST",
        status=400,
        response_headers=[("content-type", "application/json")],
        response_body=json.dumps({"error": "invalid_grant", "error_description": f"{CODE} was used before"}).encode(),
    )
    out = r.exchanges([consent, callback, token, replay])
    text = "\n".join(dump(o) for o in out)
    assert_clean(text, CODE, TOKEN, REFRESH)
    marks = set(re.findall(r"\[redacted:code:[0-9a-f]{8}\]", text))
    assert len(marks) == 1, marks  # one code, one mark everywhere: the evidence stays followable
    assert text.count(next(iter(marks))) == 4
    assert STATE in out[0].header("location") and STATE in out[1].url  # state is no secret
    body = json.loads(out[2].response_body)
    assert body["access_token"].startswith("[redacted:token:") and body["refresh_token"].startswith("[redacted:token:")
    assert body["token_type"] == "Bearer"
    assert "redirect_uri=https%3A%2F%2Fpgo.test%2Fcb" in out[2].request_body.decode()


def test_a_secret_seen_late_is_redacted_early_too() -> None:
    """The token response comes after exchanges that already carry the token: learn all first."""
    r = Redactor()
    early = x(id="x1", response_body=f"<p>debug: {TOKEN}</p>".encode())
    late = x(id="x2", response_body=json.dumps({"access_token": TOKEN}).encode())
    out = r.exchanges([early, late])
    assert_clean(dump(out[0]) + dump(out[1]), TOKEN)


def test_digid_and_consent_secrets_in_query_location_html_and_form() -> None:
    login = x(
        id="x1",
        url=f"https://digid.test/login?return_to=https%3A%2F%2Fdva.test%2Facs&RelayState={RELAY}",
        response_headers=[("content-type", "text/html")],
        response_body=(
            f'<form><input type="hidden" name="RelayState" value="{RELAY}">'
            f'<input type=radio name=bsn value="{BSN}"></form>'
        ).encode(),
    )
    acs = x(
        id="x2",
        status=303,
        url=f"https://dva.test/digid/acs?SAMLart={SAMLART}&RelayState={RELAY}",
        response_headers=[("location", f"/oauth/consent?session={SESSION}")],
    )
    consent_page = x(
        id="x3",
        response_body=(
            f"<form><input name='csrf' type='hidden' value='{CSRF}'>"
            f'<input value="{SESSION}" name="session" type="hidden"></form>'
        ).encode(),
    )
    consent_post = x(id="x4", method="POST", request_body=f"session={SESSION}&csrf={CSRF}&decision=allow".encode())
    resolve = x(
        id="x5", method="POST", request_body=f"SAMLart={SAMLART}".encode(), response_body=f'{{"bsn":"{BSN}"}}'.encode()
    )
    out = Redactor({BSN}).exchanges([login, acs, consent_page, consent_post, resolve])
    text = "\n".join(dump(o) for o in out)
    assert_clean(text, RELAY, SAMLART, SESSION, CSRF, BSN)
    assert "decision=allow" in text and "return_to=https%3A%2F%2Fdva.test%2Facs" in text
    for kind in ("samlart", "session", "csrf", "bsn"):
        assert f"[redacted:{kind}:" in text, kind


PATIENT_JSON = {
    "resourceType": "Bundle",
    "entry": [
        {
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"value": BSN_FHIR, "system": BSN_SYSTEM}, {"system": "urn:oid:2.9", "value": "42"}],
            }
        }
    ],
}
PATIENT_XML = (
    '<Patient xmlns="http://hl7.org/fhir"><identifier>'
    f'<system value="{BSN_SYSTEM}"/>\n  <value value="{BSN_FHIR}"/></identifier></Patient>'
)


@pytest.mark.parametrize(
    "where",
    [
        {"response_headers": [("content-type", FHIR_JSON)], "response_body": json.dumps(PATIENT_JSON).encode()},
        {"response_headers": [("content-type", "application/fhir+xml")], "response_body": PATIENT_XML.encode()},
        {"url": f"https://dva.test/fhir/Patient?identifier={quote(BSN_SYSTEM + '|' + BSN_FHIR, safe='')}"},
    ],
    ids=["fhir-json", "fhir-xml", "search-url"],
)
def test_fhir_bsn_identifier_is_learnt_from_its_position(where: dict) -> None:
    """A BSN the redactor was not told about: its identifier system says what it is, and then it is redacted
    there and everywhere else (here: a later plain-text body)."""
    out = Redactor().exchanges([x(id="x1", **where), x(id="x2", response_body=f"elsewhere: {BSN_FHIR}".encode())])
    text = "\n".join(dump(o) for o in out)
    assert_clean(text, BSN_FHIR)
    assert text.count("[redacted:bsn:") == 2
    if "response_body" in where and where["response_body"].startswith(b"{"):
        assert json.loads(out[0].response_body)["entry"][0]["resource"]["identifier"][1]["value"] == "42"


def test_known_secret_in_url_encoded_json_escaped_and_html_escaped_forms() -> None:
    secret = 'p@ss/w0rd+"quoted"&more'
    r = Redactor({secret})
    exchange = x(
        url=f"https://dva.test/?q={quote(secret, safe='')}",
        request_body=json.dumps({"v": secret}).encode(),
        response_headers=[("content-type", "application/xml")],
        response_body=f"<a><b>{html.escape(secret)}</b></a>".encode(),
    )
    out = r.exchange(exchange)
    assert_clean(dump(out), secret)
    assert out.url.startswith("https://dva.test/?q=[redacted:secret:")
    assert json.loads(out.request_body)["v"].startswith("[redacted:secret:")


def test_secret_in_xml_body_error_and_peer_certificate() -> None:
    r = Redactor({TOKEN, BSN})
    out = r.exchange(
        x(
            response_headers=[("content-type", "application/fhir+xml")],
            response_body=f'<OperationOutcome><diagnostics value="{TOKEN} of {BSN}"/></OperationOutcome>'.encode(),
            error=f"ReadError: {TOKEN}",
            peer_certificate=f"CN={BSN}",
        )
    )
    assert_clean(dump(out), TOKEN, BSN)


def test_binary_body_is_redacted_bytewise_and_stays_binary() -> None:
    body = b"\xff\xfe\x00" + TOKEN.encode() + b"\x80\x81"
    out = Redactor({TOKEN}).exchange(x(response_body=body))
    assert TOKEN.encode() not in out.response_body
    assert "response_body_base64" in out.to_json()


def test_fhir_code_search_parameter_and_short_values_are_kept() -> None:
    url = "https://dva.test/fhir/Observation?code=http%3A%2F%2Fsnomed.info%2Fsct%7C33633005&category=12345678"
    out = Redactor().exchange(x(url=url))
    assert out.url == url
    assert not looks_opaque("33633005") and not looks_opaque("http://snomed.info/sct|1") and looks_opaque(CODE)


def test_marks_are_stable_within_a_run_and_differ_across_runs() -> None:
    a, b = Redactor({TOKEN}), Redactor({TOKEN})
    assert a.text(f"one {TOKEN}") == f"one {a.mark(TOKEN)}"
    assert a.text(TOKEN) == a.text(f"{TOKEN}")
    assert a.mark(TOKEN) != b.mark(TOKEN)  # a per-run key: nothing links runs
    assert Redactor({TOKEN}, key=b"k").mark(TOKEN) == Redactor(key=b"k").mark(TOKEN, "secret")


def test_a_plain_secret_takes_the_kind_its_position_reveals() -> None:
    r = Redactor({TOKEN})
    r.learn(x(request_headers=[("Authorization", f"Bearer {TOKEN}")]))
    assert r.text(TOKEN).startswith("[redacted:token:")


def test_messages_and_nested_values() -> None:
    r = Redactor({BSN})
    message = f"fail: Patient/p1 carries BSN {BSN}; request sent Authorization: Bearer {TOKEN} to /cb?code={CODE}"
    red = r.obj({"messages": [message], "n": 3, "none": None})
    assert_clean(json.dumps(red), BSN, TOKEN, CODE)
    assert (
        red["n"] == 3
        and red["none"] is None
        and red["messages"][0].startswith("fail: Patient/p1 carries BSN [redacted:bsn:")
    )


def test_never_crashes_and_never_leaks(monkeypatch) -> None:
    r = Redactor({TOKEN})
    weird = x(
        url="https://dva.test/?code=%zz%&session=&access_token=",
        request_headers=[("Authorization", "Bearer"), ("Cookie", "=;;novalue")],
        response_body=b'{"access_token": 12, "bsn": null, "identifier": [{"system": "'
        + BSN_SYSTEM.encode()
        + b'", "value": 5}]',
    )
    out = r.exchange(weird)
    assert out.url.startswith("https://dva.test/")

    def broken(_body: bytes) -> bytes:
        raise RuntimeError("boom")

    monkeypatch.setattr(r, "body", broken)
    dropped = r.exchange(x(response_body=TOKEN.encode(), url=f"https://dva.test/?access_token={TOKEN}"))
    assert dropped.response_body == b"" and "redaction failed" in (dropped.error or "")
    assert_clean(dump(dropped), TOKEN)


@pytest.mark.parametrize(
    "where",
    [
        {"request_headers": [("Authorization", f"Bearer {TOKEN}")]},
        {"response_body": f"<pre>GET /fhir/Patient\nAuthorization: Bearer {TOKEN}</pre>".encode()},
        {"response_body": f'<form><input type="hidden" value="{TOKEN}" name="csrf"></form>'.encode()},
        {"response_body": json.dumps({"token_type": "Bearer", "refresh_token": TOKEN}).encode()},
    ],
    ids=["authorization-header", "bearer-in-text", "hidden-input", "json-token-response"],
)
def test_a_secret_learnt_from_its_position_is_redacted_everywhere(where: dict) -> None:
    out = Redactor().exchanges(
        [x(id="x1", **where), x(id="x2", request_headers=[("X-Echo", TOKEN)], response_body=f"[{TOKEN}]".encode())]
    )
    assert_clean(dump(out[0]) + dump(out[1]), TOKEN)


def test_a_bsn_inside_a_longer_number_is_left_and_not_flagged(tmp_path) -> None:
    from validatiestraat.reports.scan import scan

    r = Redactor({BSN})
    text = r.text(f"id 1{BSN}7, started 0.{BSN}0, bsn {BSN}.")
    assert text.startswith(f"id 1{BSN}7, started 0.{BSN}0, bsn [redacted:bsn:")
    (tmp_path / "a.txt").write_text(f"1{BSN}7\n")
    assert scan(tmp_path, {BSN}) == []
    (tmp_path / "b.txt").write_text(f"x\n{BSN}\n")
    assert scan(tmp_path, {BSN}) == ["b.txt:2"]


def test_harvest_collects_what_positions_reveal() -> None:
    from validatiestraat.evidence.redact import harvest

    found = harvest(
        [
            x(
                url=f"https://pgo.test/cb?code={CODE}&state={STATE}",
                request_headers=[("Authorization", f"Bearer {TOKEN}")],
            )
        ],
        {BSN},
    )
    assert {CODE, TOKEN, BSN} <= found and STATE not in found
