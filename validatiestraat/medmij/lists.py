"""The four MedMij lists published by the Stelselnode: models, XML writing, validated parsing, a cache.

The lists are ZAL (Zorgaanbiederslijst), OCL (OAuthclientlist), GNL (Gegevensdienstnamenlijst) and the
Whitelist. Their XML is release2 (GNL: release1) with two documented deviations, see the XSD comments in
``xsd/``. Receivers must validate a list against its XSD before using it, and must never go back to an
older list: :func:`parse_list` does the first, :class:`ListCache` the second (protocol doc §2).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal, TypeAlias, overload

from lxml import etree

ListKind: TypeAlias = Literal["zal", "ocl", "gnl", "whitelist"]
ErrorKind: TypeAlias = Literal["xml", "root", "schema", "replay", "conflict"]

ZAL_FILE = "MedMij_Zorgaanbiederslijst.xml"
OCL_FILE = "MedMij_OAuthclientlist.xml"
GNL_FILE = "MedMij_Gegevensdienstnamenlijst.xml"
WHITELIST_FILE = "MedMij_Whitelist.xml"

ZAL_NS = "xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/"
OCL_NS = "xmlns://afsprakenstelsel.medmij.nl/oauthclientlist/release2/"
GNL_NS = "xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/"
WHITELIST_NS = "xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/"

PROVIDER_SUFFIX = "@medmij"
_XSD_DIR = Path(__file__).parent / "xsd"


@dataclass(frozen=True)
class ListSpec:
    """Where a list lives and what its document looks like."""

    kind: ListKind
    title: str
    file_name: str
    root: str
    namespace: str

    @property
    def xsd_path(self) -> Path:
        return _XSD_DIR / self.file_name.replace(".xml", ".xsd")


SPECS: Mapping[ListKind, ListSpec] = MappingProxyType(
    {
        "zal": ListSpec("zal", "Zorgaanbiederslijst", ZAL_FILE, "Zorgaanbiederslijst", ZAL_NS),
        "ocl": ListSpec("ocl", "OAuthclientlist", OCL_FILE, "OAuthclientlist", OCL_NS),
        "gnl": ListSpec("gnl", "Gegevensdienstnamenlijst", GNL_FILE, "Gegevensdienstnamenlijst", GNL_NS),
        "whitelist": ListSpec("whitelist", "Whitelist", WHITELIST_FILE, "Whitelist", WHITELIST_NS),
    }
)
FILE_NAMES: Mapping[str, ListKind] = MappingProxyType({spec.file_name: kind for kind, spec in SPECS.items()})


class ListError(Exception):
    """A list that must not be used: not XML, wrong document, XSD-invalid, older or conflicting.

    ``kind`` classifies the problem (``xml``, ``root``, ``schema``, ``replay``, ``conflict``), ``line`` is
    the 1-based line in the document when known, ``list_kind`` says which list.
    """

    def __init__(
        self, kind: ErrorKind, message: str, line: int | None = None, *, list_kind: ListKind | None = None
    ) -> None:
        self.kind: ErrorKind = kind
        self.message = message
        self.line = line
        self.list_kind = list_kind
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{kind}: {message}{where}")


# --------------------------------------------------------------------------------------------- models


def _normalise_host(hostname: str) -> str:
    return hostname.strip().rstrip(".").lower()


def _provider_name(name: str) -> str:
    """``testhuisarts`` and ``testhuisarts@medmij`` both name the provider ``testhuisarts@medmij``."""
    name = name.strip().lower()
    return name if name.endswith(PROVIDER_SUFFIX) else name + PROVIDER_SUFFIX


@dataclass(frozen=True)
class Gegevensdienst:
    """One data service of one provider on the ZAL, with its endpoints per Systeemrol."""

    id: str
    authorization_uri: str
    token_uri: str
    roles: Mapping[str, str]  # Systeemrolcode -> ResourceEndpointuri, in list order

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", dict(self.roles))  # a private copy; read it as a Mapping

    def resource_uri(self, role: str) -> str | None:
        return self.roles.get(role)


@dataclass(frozen=True)
class Zorgaanbieder:
    name: str  # with the @medmij suffix
    services: tuple[Gegevensdienst, ...]

    @property
    def scope_name(self) -> str:
        """The name as used in a scope: without ``@medmij``."""
        return self.name.removesuffix(PROVIDER_SUFFIX)

    def service(self, service_id: str) -> Gegevensdienst | None:
        return next((s for s in self.services if s.id == service_id), None)


@dataclass(frozen=True)
class Zorgaanbiederslijst:
    tijdstempel: datetime
    volgnummer: int
    providers: tuple[Zorgaanbieder, ...] = ()

    def provider(self, name: str) -> Zorgaanbieder | None:
        """Look a provider up by name, with or without ``@medmij``."""
        wanted = _provider_name(name)
        return next((p for p in self.providers if p.name == wanted), None)

    def service(self, provider: str, service_id: str) -> Gegevensdienst | None:
        found = self.provider(provider)
        return found.service(service_id) if found else None


@dataclass(frozen=True)
class OAuthclient:
    hostname: str
    organisation_name: str
    # GegevensdienstIds the client is qualified for (deviation b); None: the list does not say (release2).
    service_ids: tuple[str, ...] | None = None

    def qualified_for(self, service_id: str) -> bool:
        return self.service_ids is None or service_id in self.service_ids


@dataclass(frozen=True)
class OAuthclientlist:
    tijdstempel: datetime
    volgnummer: int
    clients: tuple[OAuthclient, ...] = ()

    def client(self, hostname: str) -> OAuthclient | None:
        """Look a client up by hostname (= its OAuth client_id), case-insensitively."""
        wanted = _normalise_host(hostname)
        return next((c for c in self.clients if c.hostname == wanted), None)


@dataclass(frozen=True)
class Whitelist:
    tijdstempel: datetime
    volgnummer: int
    nodes: tuple[str, ...] = ()

    def contains(self, hostname: str) -> bool:
        return _normalise_host(hostname) in self.nodes


@dataclass(frozen=True)
class Gegevensdienstnamenlijst:
    tijdstempel: datetime
    volgnummer: int
    names: Mapping[str, str] = field(default_factory=dict)  # GegevensdienstId -> Weergavenaam

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", dict(self.names))  # a private copy; read it as a Mapping

    def name(self, service_id: str) -> str | None:
        return self.names.get(service_id)


MedMijList: TypeAlias = Zorgaanbiederslijst | OAuthclientlist | Gegevensdienstnamenlijst | Whitelist
_MODEL_KINDS: Mapping[type, ListKind] = MappingProxyType(
    {
        Zorgaanbiederslijst: "zal",
        OAuthclientlist: "ocl",
        Gegevensdienstnamenlijst: "gnl",
        Whitelist: "whitelist",
    }
)


def kind_of(model: MedMijList) -> ListKind:
    return _MODEL_KINDS[type(model)]


# ------------------------------------------------------------------------------------------ writing


def format_tijdstempel(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a Tijdstempel needs a time zone")
    text = moment.isoformat()
    return text[:-6] + "Z" if moment.utcoffset() == timedelta(0) else text


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{parent.nsmap[None]}}}{name}")
    if text is not None:
        element.text = text
    return element


def _chain(parent: etree._Element, names: str, text: str) -> None:
    """``_chain(p, "TokenEndpoint/TokenEndpointuri", uri)`` builds the nested wrapper elements."""
    for name in names.split("/"):
        parent = _sub(parent, name)
    parent.text = text


def to_xml(model: MedMijList) -> bytes:
    """Serialise a list as MedMij publishes it: XML declaration, default namespace, pretty-printed."""
    spec = SPECS[kind_of(model)]
    root = etree.Element(f"{{{spec.namespace}}}{spec.root}", nsmap={None: spec.namespace})
    _sub(root, "Tijdstempel", format_tijdstempel(model.tijdstempel))
    _sub(root, "Volgnummer", str(model.volgnummer))
    if isinstance(model, Zorgaanbiederslijst):
        body = _sub(root, "Zorgaanbieders")
        for provider in model.providers:
            element = _sub(body, "Zorgaanbieder")
            _sub(element, "Zorgaanbiedernaam", provider.name)
            services = _sub(element, "Gegevensdiensten")
            for service in provider.services:
                svc = _sub(services, "Gegevensdienst")
                _sub(svc, "GegevensdienstId", service.id)
                _chain(svc, "AuthorizationEndpoint/AuthorizationEndpointuri", service.authorization_uri)
                _chain(svc, "TokenEndpoint/TokenEndpointuri", service.token_uri)
                roles = _sub(svc, "Systeemrollen")
                for code, uri in service.roles.items():
                    role = _sub(roles, "Systeemrol")
                    _sub(role, "Systeemrolcode", code)
                    _chain(role, "ResourceEndpoint/ResourceEndpointuri", uri)
    elif isinstance(model, OAuthclientlist):
        body = _sub(root, "OAuthclients")
        for client in model.clients:
            element = _sub(body, "OAuthclient")
            _sub(element, "Hostname", client.hostname)
            _sub(element, "OAuthclientOrganisatienaam", client.organisation_name)
            if client.service_ids is not None:
                services = _sub(element, "Gegevensdiensten")
                for service_id in client.service_ids:
                    _chain(services, "Gegevensdienst/GegevensdienstId", service_id)
    elif isinstance(model, Gegevensdienstnamenlijst):
        body = _sub(root, "Gegevensdiensten")
        for service_id, display in model.names.items():
            element = _sub(body, "Gegevensdienst")
            _sub(element, "GegevensdienstId", service_id)
            _sub(element, "Weergavenaam", display)
    else:
        body = _sub(root, "MedMijNodes")
        for node in model.nodes:
            _sub(body, "MedMijNode", node)
    body_bytes = etree.tostring(root, xml_declaration=False, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body_bytes


# ------------------------------------------------------------------------------------------ parsing


@cache
def _schema(kind: ListKind) -> tuple[etree.XMLSchema, threading.Lock]:
    """Compile each XSD once; the lock keeps the schema's shared error log per call."""
    return etree.XMLSchema(etree.parse(str(SPECS[kind].xsd_path))), threading.Lock()


def _parser() -> etree.XMLParser:
    # No entity expansion, no network, no DTD loading: a list is data from a peer.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


_CLARK = re.compile(r"\{[^}]*\}")


def _load(kind: ListKind, data: bytes) -> etree._Element:
    """Parse and check a list document; raise a classified :class:`ListError` on any problem."""
    spec = SPECS[kind]
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        message = f"{spec.title} is not well-formed XML: {exc.msg}"
        raise ListError("xml", message, exc.lineno, list_kind=kind) from exc
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise ListError("xml", f"{spec.title} must not carry a DOCTYPE", 1, list_kind=kind)
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.localname != spec.root or qname.namespace != spec.namespace:
        raise ListError(
            "root",
            f"expected root element {spec.root} in namespace {spec.namespace}, "
            f"got {qname.localname} in namespace {qname.namespace or '(none)'}",
            root.sourceline,
            list_kind=kind,
        )
    schema, lock = _schema(kind)
    with lock:
        if not schema.validate(tree):
            error = schema.error_log[0]
            message = _CLARK.sub("", error.message)
            raise ListError("schema", f"{spec.title} is XSD-invalid: {message}", error.line, list_kind=kind)
    return root


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path)
    assert found is not None and found.text is not None  # guaranteed by the XSD
    return found.text


def _header(root: etree._Element, ns: str, kind: ListKind) -> tuple[datetime, int]:
    text = _text(root, f"{{{ns}}}Tijdstempel")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:  # the XSD allows a few forms Python does not (e.g. 20+ digit fractions)
        line = root[0].sourceline
        raise ListError("schema", f"unusable Tijdstempel {text!r}: {exc}", line, list_kind=kind) from exc
    return moment, int(_text(root, f"{{{ns}}}Volgnummer"))


def parse_zal(data: bytes) -> Zorgaanbiederslijst:
    root = _load("zal", data)
    n = f"{{{ZAL_NS}}}"
    providers = []
    for provider in root.iterfind(f"{n}Zorgaanbieders/{n}Zorgaanbieder"):
        services = []
        for svc in provider.iterfind(f"{n}Gegevensdiensten/{n}Gegevensdienst"):
            roles = {
                _text(role, f"{n}Systeemrolcode"): _text(role, f"{n}ResourceEndpoint/{n}ResourceEndpointuri")
                for role in svc.iterfind(f"{n}Systeemrollen/{n}Systeemrol")
            }
            services.append(
                Gegevensdienst(
                    id=_text(svc, f"{n}GegevensdienstId"),
                    authorization_uri=_text(svc, f"{n}AuthorizationEndpoint/{n}AuthorizationEndpointuri"),
                    token_uri=_text(svc, f"{n}TokenEndpoint/{n}TokenEndpointuri"),
                    roles=roles,
                )
            )
        providers.append(Zorgaanbieder(_text(provider, f"{n}Zorgaanbiedernaam"), tuple(services)))
    return Zorgaanbiederslijst(*_header(root, ZAL_NS, "zal"), providers=tuple(providers))


def parse_ocl(data: bytes) -> OAuthclientlist:
    root = _load("ocl", data)
    n = f"{{{OCL_NS}}}"
    clients = []
    for client in root.iterfind(f"{n}OAuthclients/{n}OAuthclient"):
        services = client.find(f"{n}Gegevensdiensten")
        service_ids = (
            None
            if services is None
            else tuple(_text(s, f"{n}GegevensdienstId") for s in services.iterfind(f"{n}Gegevensdienst"))
        )
        clients.append(
            OAuthclient(
                hostname=_text(client, f"{n}Hostname"),
                organisation_name=_text(client, f"{n}OAuthclientOrganisatienaam"),
                service_ids=service_ids,
            )
        )
    return OAuthclientlist(*_header(root, OCL_NS, "ocl"), clients=tuple(clients))


def parse_gnl(data: bytes) -> Gegevensdienstnamenlijst:
    root = _load("gnl", data)
    n = f"{{{GNL_NS}}}"
    names = {
        _text(svc, f"{n}GegevensdienstId"): _text(svc, f"{n}Weergavenaam")
        for svc in root.iterfind(f"{n}Gegevensdiensten/{n}Gegevensdienst")
    }
    return Gegevensdienstnamenlijst(*_header(root, GNL_NS, "gnl"), names=names)


def parse_whitelist(data: bytes) -> Whitelist:
    root = _load("whitelist", data)
    n = f"{{{WHITELIST_NS}}}"
    nodes = tuple(node.text or "" for node in root.iterfind(f"{n}MedMijNodes/{n}MedMijNode"))
    return Whitelist(*_header(root, WHITELIST_NS, "whitelist"), nodes=nodes)


_PARSERS = {"zal": parse_zal, "ocl": parse_ocl, "gnl": parse_gnl, "whitelist": parse_whitelist}


@overload
def parse_list(kind: Literal["zal"], data: bytes) -> Zorgaanbiederslijst: ...
@overload
def parse_list(kind: Literal["ocl"], data: bytes) -> OAuthclientlist: ...
@overload
def parse_list(kind: Literal["gnl"], data: bytes) -> Gegevensdienstnamenlijst: ...
@overload
def parse_list(kind: Literal["whitelist"], data: bytes) -> Whitelist: ...
@overload
def parse_list(kind: ListKind, data: bytes) -> MedMijList: ...
def parse_list(kind: ListKind, data: bytes) -> MedMijList:
    """Validate ``data`` against the XSD of ``kind`` and return its model; raise :class:`ListError`."""
    return _PARSERS[kind](data)


def validate(model: MedMijList) -> MedMijList:
    """Check that a model serialises to a valid list (raises :class:`ListError`); return it unchanged."""
    parse_list(kind_of(model), to_xml(model))
    return model


# -------------------------------------------------------------------------------------------- cache


class ListCache:
    """The lists a party currently trusts. Never goes back to an older list.

    A lower Volgnummer than the one held is a replay; the same Volgnummer is fine only with the same
    content (a re-download), otherwise the publisher reused a number and the list is refused.
    """

    def __init__(self, lists: Iterable[MedMijList] = ()) -> None:
        self._held: dict[ListKind, MedMijList] = {}
        self._lock = threading.Lock()
        for model in lists:
            self.accept(model)

    def accept(self, model: MedMijList) -> bool:
        """Take ``model`` as current if it is at least as new; True when the held list changed."""
        kind = kind_of(model)
        title = SPECS[kind].title
        with self._lock:
            held = self._held.get(kind)
            if held is not None:
                if model.volgnummer < held.volgnummer:
                    raise ListError(
                        "replay",
                        f"{title} Volgnummer {model.volgnummer} is lower than the held {held.volgnummer}",
                        list_kind=kind,
                    )
                if model.volgnummer == held.volgnummer:
                    if model == held:
                        return False
                    raise ListError(
                        "conflict",
                        f"{title} Volgnummer {model.volgnummer} is already held with different content",
                        list_kind=kind,
                    )
            self._held[kind] = model
            return True

    def accept_xml(self, kind: ListKind, data: bytes) -> bool:
        """Validate and parse ``data``, then :meth:`accept` it."""
        return self.accept(parse_list(kind, data))

    def get(self, kind: ListKind) -> MedMijList | None:
        return self._held.get(kind)

    @property
    def zal(self) -> Zorgaanbiederslijst | None:
        found = self._held.get("zal")
        return found if isinstance(found, Zorgaanbiederslijst) else None

    @property
    def ocl(self) -> OAuthclientlist | None:
        found = self._held.get("ocl")
        return found if isinstance(found, OAuthclientlist) else None

    @property
    def gnl(self) -> Gegevensdienstnamenlijst | None:
        found = self._held.get("gnl")
        return found if isinstance(found, Gegevensdienstnamenlijst) else None

    @property
    def whitelist(self) -> Whitelist | None:
        found = self._held.get("whitelist")
        return found if isinstance(found, Whitelist) else None
