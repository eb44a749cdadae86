"""Redaction: what a run writes out never carries a secret in the clear.

The recorder keeps exchanges raw (the checks need them so); everything written to ``reports/<run-id>/`` goes
through a :class:`Redactor` first. It replaces

- the known secrets of the run (access tokens, the BSNs of the dataset, ...), passed in;
- the credentials of ``Authorization`` (``Bearer ...``) and the values of ``Cookie`` / ``Set-Cookie``;
- the values of secret parameters wherever they appear as ``name=value`` (query strings, ``Location``
  headers, callback URLs, form bodies, URLs inside bodies) or as hidden form inputs in HTML: the OAuth
  ``code``, ``access_token``, ``refresh_token``, ``id_token``, the DigiD ``SAMLart``, ``RelayState``,
  ``session`` ids, ``csrf`` tokens, client secrets. ``state`` is not a secret and is kept (the checks on
  it must stay followable);
- ``access_token`` / ``refresh_token`` / ``id_token`` in JSON token responses;
- BSNs: the value of every identifier of system ``http://fhir.nl/fhir/NamingSystem/bsn`` in FHIR bodies
  (JSON and XML) and search URLs.

A secret found in one place is learnt and replaced everywhere else too (the code of a ``Location`` header
also in the callback URL and the token request), in its raw, URL-encoded, JSON-escaped and HTML-escaped
forms. The mark says what was there and which one: ``[redacted:token:1a2b3c4d]``; the suffix is an HMAC of
the value under a key drawn per run, so the same secret gets the same mark within a run (the evidence stays
followable) and nothing about it can be learnt across runs.

An all-digit secret (a BSN) is replaced where it stands alone, not inside a longer number. Values shorter
than :data:`MIN_SECRET` characters are only replaced in place (as a parameter value), never
searched for everywhere: a short value would match innocent text. An OAuth ``code`` parameter is only
taken for a secret when it looks like an opaque token (FHIR searches have a ``code`` parameter too).

Redaction is defensive: it never raises. Bodies that are not UTF-8 are redacted byte-wise; if anything goes
wrong the exchange's content is dropped rather than written unredacted.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from validatiestraat.evidence.exchange import Exchange, Headers

#: secrets shorter than this are replaced only where their position says they are secret
MIN_SECRET = 6
BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
MARK_PREFIX = "[redacted:"

#: parameter names (lower case) whose values are secret, and the kind their mark names
SECRET_PARAMS = {
    "code": "code",
    "access_token": "token",
    "refresh_token": "token",
    "id_token": "token",
    "samlart": "samlart",
    "relaystate": "session",
    "session": "session",
    "sessionid": "session",
    "session_id": "session",
    "csrf": "csrf",
    "csrf_token": "csrf",
    "csrfmiddlewaretoken": "csrf",
    "client_secret": "secret",
    "code_verifier": "secret",
    "password": "secret",
    "assertion": "secret",
}
#: keys of JSON objects whose string values are secret (not ``code``: FHIR codings are full of it)
SECRET_JSON_KEYS = {
    "access_token": "token",
    "refresh_token": "token",
    "id_token": "token",
    "client_secret": "secret",
    "samlart": "samlart",
    "bsn": "bsn",
}

_NAMES = "|".join(sorted(map(re.escape, SECRET_PARAMS), key=len, reverse=True))
_PARAM_RE = re.compile(rf"(?<![A-Za-z0-9_.\-])({_NAMES})=([^&\s\"'<>#;,\\]+)", re.IGNORECASE)
_BEARER_RE = re.compile(r"\b(Bearer)(\s+)([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
_INPUT_RE = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTR_RE = re.compile(r"""\b(name|value)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_JSON_KEY_RE = re.compile(
    r'"(' + "|".join(map(re.escape, SECRET_JSON_KEYS)) + r')"\s*:\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE
)
_BSN_XML_RE = re.compile(
    r"""NamingSystem/bsn["']\s*/>\s*<(?:[\w.\-]+:)?value\s+value\s*=\s*["']([^"']+)["']""", re.IGNORECASE
)
_BSN_TEXT_RE = re.compile(r"NamingSystem/bsn(?:\||%7C)(\d{6,})", re.IGNORECASE)
#: cheap substring tests that tell whether a regex can match at all (the texts are mostly FHIR bodies)
_PARAM_GATES = tuple(g for n in SECRET_PARAMS for g in (f"{n}=", f"{n}%3d"))
_JSON_GATES = tuple(f'"{key}"' for key in SECRET_JSON_KEYS)
_OPAQUE_RE = re.compile(r"[A-Za-z0-9._~+/=\-]{8,}")
_PERCENT_RE = re.compile(r"%[0-9A-F]{2}")


def forms(value: str) -> set[str]:
    """The ways ``value`` can appear in text: raw, URL-encoded (both quotings, either hex case), JSON-escaped
    (with and without ``\\/`` and ASCII escapes), HTML/XML-escaped."""
    found = {
        value,
        quote(value, safe=""),
        quote_plus(value, safe=""),
        quote(value, safe="/:"),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
    }
    found |= {f.replace("/", "\\/") for f in found}
    found |= {_PERCENT_RE.sub(lambda m: m.group().lower(), f) for f in found}
    return {f for f in found if f}


def digits_pattern(form: str) -> re.Pattern[str] | None:
    """For an all-digit secret (a BSN): the pattern that finds it standing alone, not inside a longer number."""
    return re.compile(rf"(?<![0-9]){form}(?![0-9])") if form.isascii() and form.isdigit() else None


def looks_opaque(value: str) -> bool:
    """Whether a ``code`` parameter value looks like an OAuth authorization code rather than a FHIR code:
    a run of token characters, not only digits, mixing letters and digits or long."""
    if not _OPAQUE_RE.fullmatch(value) or value.isdigit():
        return False
    return len(value) >= 16 or (any(c.isalpha() for c in value) and any(c.isdigit() for c in value))


def _kind_of(value: str) -> str:
    return "bsn" if re.fullmatch(r"\d{9}", value) else "secret"


class Redactor:
    """Turns exchanges, texts and JSON-like values into redacted copies. One per run: it learns the secrets
    it meets (call :meth:`learn` on every exchange first, so a secret seen late is redacted early too)."""

    def __init__(self, secrets: Iterable[str] = (), key: bytes | None = None) -> None:
        self._key = key if key is not None else os.urandom(16)
        self._kinds: dict[str, str] = {}
        self._replacements: list[tuple[str, str, re.Pattern[str] | None]] | None = None
        self._seen: set[str] = set()  # texts already learnt from
        for value in secrets:
            if isinstance(value, str):
                self.add(value)

    # -- what is secret -----------------------------------------------------------------------------------
    @property
    def secrets(self) -> frozenset[str]:
        """Every secret value known so far (given and learnt)."""
        return frozenset(self._kinds)

    def add(self, value: str, kind: str | None = None) -> None:
        """Know ``value`` as a secret (ignored when shorter than :data:`MIN_SECRET` or already a mark)."""
        if not value or len(value) < MIN_SECRET or MARK_PREFIX in value:
            return
        known = self._kinds.get(value)
        if known is None or (known == "secret" and kind not in (None, "secret")):
            # a value given as a plain secret takes the kind its position reveals (token, code, ...)
            self._kinds[value] = kind or _kind_of(value)
            self._replacements = None

    def mark(self, value: str, kind: str | None = None) -> str:
        kind = kind or self._kinds.get(value) or _kind_of(value)
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"{MARK_PREFIX}{kind}:{digest[:8]}]"

    def learn(self, exchanges: Exchange | Iterable[Exchange]) -> None:
        """Harvest the secrets in ``exchanges`` (by position) without redacting anything yet."""
        for x in [exchanges] if isinstance(exchanges, Exchange) else exchanges:
            try:
                self._learn_exchange(x)
            except Exception:  # learning is best effort; redaction still replaces what is known
                continue

    def _learn_exchange(self, x: Exchange) -> None:
        for headers in (x.request_headers, x.response_headers):
            for name, value in headers:
                self._learn_header(name, value)
        for text in (x.url, x.error or ""):
            self.learn_text(text)
        for body in (x.request_body, x.response_body):
            text = _text(body)
            if text is not None:
                self.learn_text(text)
                self._learn_json(text)

    def _learn_header(self, name: str, value: str) -> None:
        lower = name.lower()
        if lower in ("authorization", "proxy-authorization"):
            scheme, _, credentials = value.strip().partition(" ")
            self.add(credentials.strip(), "token" if scheme.lower() == "bearer" else "credentials")
        elif lower in ("cookie", "set-cookie"):
            pairs = value.split(";") if lower == "cookie" else value.split(";")[:1]
            for pair in pairs:
                self.add(pair.partition("=")[2].strip().strip('"'), "cookie")
        self.learn_text(value)

    def learn_text(self, text: str) -> None:
        """Harvest secrets from free text by position: bearer tokens, secret parameters, hidden inputs, JSON
        token fields, BSN identifiers (FHIR XML and search parameters)."""
        if not text or text in self._seen:
            return
        self._seen.add(text)
        lower = text.lower()
        variants = {text, _unquote(text)} if "%" in text or "+" in text else {text}
        if any(gate in lower for gate in _PARAM_GATES):
            for variant in variants:
                for m in _PARAM_RE.finditer(variant):
                    self._add_param(m.group(1), m.group(2))
        if "bearer" in lower:
            for m in _BEARER_RE.finditer(text):
                self.add(m.group(3), "token")
        if "<input" in lower:
            for tag in _INPUT_RE.findall(text):
                attrs = {
                    m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or "") for m in _ATTR_RE.finditer(tag)
                }
                if "name" in attrs and "value" in attrs:
                    self._add_param(attrs["name"], attrs["value"])
        if any(gate in lower for gate in _JSON_GATES):
            for m in _JSON_KEY_RE.finditer(text):
                try:
                    value = json.loads(f'"{m.group(2)}"')
                except ValueError:
                    value = m.group(2)
                kind = SECRET_JSON_KEYS[m.group(1).lower()]
                if kind != "bsn" or value.isdigit():
                    self.add(value, kind)
        if "namingsystem" in lower:
            for m in _BSN_XML_RE.finditer(text):
                self.add(m.group(1).strip(), "bsn")
            for variant in variants:
                for m in _BSN_TEXT_RE.finditer(variant):
                    self.add(m.group(1), "bsn")

    def _add_param(self, name: str, raw: str) -> None:
        kind = SECRET_PARAMS.get(name.lower())
        if kind is None:
            return
        value = unquote_plus(raw)
        if kind == "code" and not looks_opaque(value):
            return
        self.add(value, kind)
        self.add(raw, kind)

    def _learn_json(self, text: str) -> None:
        # only the BSN identifiers need the parsed tree (their keys come in any order); the rest is positional
        if "namingsystem" not in text.lower() or not text.lstrip().startswith(("{", "[")):
            return
        try:
            data = json.loads(text)
        except ValueError:
            return
        stack: list[Any] = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if item.get("system") == BSN_SYSTEM and isinstance(item.get("value"), str):
                    self.add(item["value"].strip(), "bsn")
                for key, value in item.items():
                    kind = SECRET_JSON_KEYS.get(key.lower()) if isinstance(key, str) else None
                    if kind is not None and isinstance(value, str) and (kind != "bsn" or value.isdigit()):
                        self.add(value, kind)
                    elif isinstance(value, dict | list):
                        stack.append(value)
            elif isinstance(item, list):
                stack.extend(v for v in item if isinstance(v, dict | list))

    # -- redacting ----------------------------------------------------------------------------------------
    def _table(self) -> list[tuple[str, str, re.Pattern[str] | None]]:
        if self._replacements is None:
            table: dict[str, str] = {}
            for value, kind in self._kinds.items():
                mark = self.mark(value, kind)
                for form in forms(value):
                    table.setdefault(form, mark)
            # longest first, so a secret that contains another is replaced whole; a number (a BSN) only where
            # it stands alone, not inside a longer run of digits (a timestamp, a code)
            self._replacements = [
                (form, mark, digits_pattern(form))
                for form, mark in sorted(table.items(), key=lambda item: -len(item[0]))
            ]
        return self._replacements

    def text(self, text: str | None) -> str | None:
        """``text`` with every secret replaced by its mark (learning what its positions reveal first)."""
        if not text:
            return text
        try:
            if len(text) < MIN_SECRET and "=" not in text:
                return text
            self.learn_text(text)
            for form, mark, digits in self._table():
                if form in text:
                    text = digits.sub(mark, text) if digits else text.replace(form, mark)
            lower = text.lower()
            if any(gate in lower for gate in _PARAM_GATES[::2]):
                text = _PARAM_RE.sub(self._param_mark, text)
            if "bearer" in lower:
                text = _BEARER_RE.sub(self._bearer_mark, text)
            return text
        except Exception:
            return "[redacted:unreadable]"

    def _param_mark(self, m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        kind = SECRET_PARAMS[name.lower()]
        if MARK_PREFIX in value or (kind == "code" and not looks_opaque(unquote_plus(value))):
            return m.group(0)
        return f"{name}={self.mark(unquote_plus(value), kind)}"

    def _bearer_mark(self, m: re.Match[str]) -> str:
        return f"{m.group(1)}{m.group(2)}{self.mark(m.group(3), 'token')}"

    def body(self, body: bytes) -> bytes:
        """A body: as text when it is UTF-8; else the known secrets replaced byte-wise."""
        if not body:
            return body
        text = _text(body)
        if text is not None:
            return (self.text(text) or "").encode("utf-8")
        try:
            for form, mark, digits in self._table():
                raw = form.encode("utf-8", "surrogatepass")
                if raw in body:
                    if digits:
                        body = re.sub(rb"(?<![0-9])" + raw + rb"(?![0-9])", mark.encode("ascii"), body)
                    else:
                        body = body.replace(raw, mark.encode("ascii"))
            return body
        except Exception:
            return b"[redacted:unreadable]"

    def headers(self, headers: Headers) -> Headers:
        out: Headers = []
        for name, value in headers:
            lower = name.lower()
            if lower in ("authorization", "proxy-authorization"):
                scheme, _, credentials = value.strip().partition(" ")
                if credentials:
                    kind = "token" if scheme.lower() == "bearer" else "credentials"
                    value = f"{scheme} {self.mark(credentials.strip(), kind)}"
                else:
                    value = self.mark(value, "credentials")
            elif lower == "cookie":
                value = "; ".join(self._cookie(p) for p in value.split(";"))
            elif lower == "set-cookie":
                first, sep, rest = value.partition(";")
                value = self._cookie(first) + sep + (self.text(rest) or "")
            else:
                value = self.text(value) or ""
            out.append((self.text(name) or "", value))
        return out

    def _cookie(self, pair: str) -> str:
        name, sep, value = pair.strip().partition("=")
        if not sep:
            return self.text(pair.strip()) or ""
        value = value.strip().strip('"')
        return f"{name}={self.mark(value, 'cookie')}" if value else f"{name}="

    def exchange(self, x: Exchange) -> Exchange:
        """A redacted copy of ``x``; on any unexpected problem, a copy with its content dropped."""
        self.learn(x)
        try:
            return replace(
                x,
                case=self.text(x.case) or "",
                step=self.text(x.step) or "",
                url=self.text(x.url) or "",
                request_headers=self.headers(x.request_headers),
                request_body=self.body(x.request_body),
                response_headers=self.headers(x.response_headers),
                response_body=self.body(x.response_body),
                peer_certificate=self.text(x.peer_certificate),
                error=self.text(x.error),
            )
        except Exception as exc:  # never crash, never leak: drop what could not be redacted
            return replace(
                x,
                url="[redacted:unreadable]",
                request_headers=[],
                request_body=b"",
                response_headers=[],
                response_body=b"",
                error=f"redaction failed ({type(exc).__name__}); content dropped",
            )

    def exchanges(self, exchanges: Iterable[Exchange]) -> list[Exchange]:
        """Redacted copies of all ``exchanges``, after learning from all of them."""
        items = list(exchanges)
        self.learn(items)
        return [self.exchange(x) for x in items]

    def obj(self, value: Any) -> Any:
        """A JSON-like value with every string in it redacted (keys kept)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.obj(v) for v in value]
        return value


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except (UnicodeDecodeError, AttributeError):
        return None


def _unquote(text: str) -> str:
    try:
        return unquote_plus(text)
    except Exception:
        return text


def harvest(exchanges: Iterable[Exchange], secrets: Iterable[str] = ()) -> frozenset[str]:
    """Every secret value ``exchanges`` reveal by position (codes, tokens, session ids, BSN identifiers), plus
    ``secrets``: what a secret scan of the reports should look for."""
    redactor = Redactor(secrets)
    redactor.learn(exchanges)
    return redactor.secrets
