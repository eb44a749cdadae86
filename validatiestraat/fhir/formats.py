"""FHIR R4 JSON ⇄ XML, and content negotiation.

The converter is our own, driven by the element table in ``r4_elements.json`` (built from the CC0 R4 core
package by ``build_r4_elements.py``). ``fhir.resources`` was measured first: its XML round trip turns
``<value value="4"/>`` into ``4.0`` and re-indents the narrative, and it costs ~20 ms a resource, so it is not
used for serving. Decimals become ``int``/``float`` (trailing zeros of a decimal are not kept).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from lxml import etree

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
JSON_MEDIA_TYPE = "application/fhir+json; charset=utf-8"
XML_MEDIA_TYPE = "application/fhir+xml; charset=utf-8"

Format = Literal["json", "xml"]


class _Element(NamedTuple):
    name: str
    type: str
    repeats: bool
    attribute: bool


class _Table:
    """Child elements per type (in XML order) and the JSON kind of each primitive type."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.primitives: dict[str, str] = dict(data["primitives"])
        self.resources: frozenset[str] = frozenset(data["resources"])
        self.ordered: dict[str, tuple[_Element, ...]] = {
            t: tuple(_Element(n, ty, bool(r), bool(a)) for n, ty, r, a in rows) for t, rows in data["types"].items()
        }
        self.by_name: dict[str, dict[str, _Element]] = {
            t: {e.name: e for e in rows} for t, rows in self.ordered.items()
        }
        # the elements of each type that XML writes as attributes (``id`` of an element, ``url`` of an extension)
        self.attributes: dict[str, tuple[str, ...]] = {
            t: tuple(e.name for e in rows if e.attribute) for t, rows in self.ordered.items()
        }
        # JSON key ("name" or "_name") -> (position, element): lets the writer visit only the keys present
        self.position: dict[str, dict[str, tuple[int, _Element]]] = {
            t: {k: (i, e) for i, e in enumerate(rows) for k in (e.name, f"_{e.name}")}
            for t, rows in self.ordered.items()
        }


@lru_cache(maxsize=1)
def _table() -> _Table:
    path = Path(__file__).with_name("r4_elements.json")
    return _Table(json.loads(path.read_text(encoding="utf-8")))


def element_type(type_name: str, element: str) -> str | None:
    """The FHIR type of ``element`` inside ``type_name`` (a backbone element is named by its path)."""
    e = _table().by_name.get(type_name, {}).get(element)
    return e.type if e else None


def is_resource_type(name: str) -> bool:
    return name in _table().resources


# --------------------------------------------------------------------------- JSON


def to_json(resource: Mapping[str, Any]) -> bytes:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def from_json(data: bytes | str) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict) or "resourceType" not in value:
        raise ValueError("not a FHIR resource: no resourceType")
    return value


# --------------------------------------------------------------------------- XML -> JSON


@lru_cache(maxsize=4096)
def _local(tag: str) -> tuple[str, str]:
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, local


def _primitive(kind: str, text: str | None) -> Any:
    if text is None:
        return None
    if kind == "bool":
        if text not in ("true", "false"):
            raise ValueError(f"bad boolean {text!r}")
        return text == "true"
    if kind == "int":
        return int(text)
    if kind == "dec":
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    return text


def _xml_resource(elem: etree._Element, remember: bool = False) -> dict[str, Any]:
    ns, rt = _local(elem.tag)
    if ns != FHIR_NS or rt not in _table().ordered:
        raise ValueError(f"not a FHIR resource element: {elem.tag}")
    out: dict[str, Any] = {"resourceType": rt}
    _xml_children(elem, rt, out, remember)
    return out


#: resources inside resources read by ``from_xml(..., remember=True)``, by their XML text (bounded)
_READ: dict[bytes, dict[str, Any]] = {}


def _inner_resource(elem: etree._Element, remember: bool) -> dict[str, Any]:
    if not remember:
        return _xml_resource(elem)
    key = etree.tostring(elem)
    known = _READ.get(key)
    if known is None:
        if len(_READ) > 4096:
            _READ.clear()
        known = _READ[key] = _xml_resource(elem)
    return known


def _xml_complex(elem: etree._Element, type_name: str, remember: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    attrib = elem.attrib
    if attrib:
        for name in _table().attributes.get(type_name, ()):
            if name in attrib:
                out[name] = attrib[name]
    _xml_children(elem, type_name, out, remember)
    return out


def _xml_children(elem: etree._Element, type_name: str, out: dict[str, Any], remember: bool = False) -> None:
    table = _table()
    defs = table.by_name.get(type_name)
    if defs is None:
        raise ValueError(f"unknown FHIR type {type_name}")
    pending_ext: dict[str, list[Any]] = {}
    for child in elem:
        if not isinstance(child.tag, str):
            continue  # comment or processing instruction
        ns, name = _local(child.tag)
        d = defs.get(name)
        if d is None or ns not in (FHIR_NS, XHTML_NS):
            raise ValueError(f"unknown element {name!r} in {type_name}")
        if d.type == "xhtml":
            value: Any = etree.tostring(child, encoding="unicode", with_tail=False)
            extra = None
        elif d.type == "Resource":
            inner = [c for c in child if isinstance(c.tag, str)]
            if len(inner) != 1:
                raise ValueError(f"{type_name}.{name} must hold exactly one resource")
            value, extra = _inner_resource(inner[0], remember), None
        elif d.type in table.primitives:
            value = _primitive(table.primitives[d.type], child.get("value"))
            # most primitives carry only their value: no id, no extension (skip the walk for those)
            extra = _xml_complex(child, "Element") or None if len(child) or "id" in child.attrib else None
        else:
            value, extra = _xml_complex(child, d.type, remember), None
        if d.repeats:
            out.setdefault(name, []).append(value)
            pending_ext.setdefault(name, []).append(extra)
        else:
            if name in out or (extra is not None and f"_{name}" in out):
                raise ValueError(f"{type_name}.{name} occurs more than once")
            if value is not None:
                out[name] = value
            if extra is not None:
                out[f"_{name}"] = extra
    for name, extras in pending_ext.items():
        if any(e is not None for e in extras):
            out[f"_{name}"] = extras
        if all(v is None for v in out[name]):
            del out[name]


def from_xml(data: bytes | str, remember: bool = False) -> dict[str, Any]:
    """Parse a FHIR XML resource (any type, Bundles included) into its JSON form.

    With ``remember`` the resources inside it (Bundle entries, contained resources) are read once per XML text
    and the same objects are returned for every later answer that repeats them: for readers that never change
    what they get (the checks), which read the same Medication in many answers."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    return _xml_resource(etree.fromstring(raw, parser), remember)


# --------------------------------------------------------------------------- JSON -> XML


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _add_resource(parent: etree._Element | None, resource: Mapping[str, Any]) -> etree._Element:
    rt = resource.get("resourceType")
    if not isinstance(rt, str) or rt not in _table().ordered:
        raise ValueError(f"unknown resourceType {rt!r}")
    tag = f"{{{FHIR_NS}}}{rt}"
    elem = etree.Element(tag, nsmap={None: FHIR_NS}) if parent is None else etree.SubElement(parent, tag)
    _add_children(elem, rt, resource, skip="resourceType")
    return elem


def _add_children(elem: etree._Element, type_name: str, data: Mapping[str, Any], skip: str = "") -> None:
    positions = _table().position.get(type_name)
    if positions is None:
        raise ValueError(f"unknown FHIR type {type_name}")
    present: dict[int, _Element] = {}
    for key in data:
        found = positions.get(key)
        if found is None:
            if key == skip:
                continue
            raise ValueError(f"unknown element {key!r} in {type_name}")
        present[found[0]] = found[1]
    for _, e in sorted(present.items()):
        value, extra = data.get(e.name), data.get(f"_{e.name}")
        if e.attribute:
            if value is not None:
                elem.set(e.name, _xml_value(value))
            continue
        if value is None and extra is None:
            continue
        if e.repeats != isinstance(value if value is not None else extra, list):
            shape = "an array" if e.repeats else "a single value"
            raise ValueError(f"{type_name}.{e.name} must be {shape}")
        if not e.repeats:
            _add_one(elem, e, value, extra)
            continue
        values = value if isinstance(value, list) else []
        extras = extra if isinstance(extra, list) else []
        for i in range(max(len(values), len(extras))):
            _add_one(elem, e, values[i] if i < len(values) else None, extras[i] if i < len(extras) else None)


def _add_one(parent: etree._Element, e: _Element, value: Any, extra: Any) -> None:
    table = _table()
    tag = f"{{{FHIR_NS}}}{e.name}"
    if e.type == "xhtml":
        div = etree.fromstring(value.encode("utf-8") if isinstance(value, str) else value)
        parent.append(div)
        return
    child = etree.SubElement(parent, tag)
    if e.type == "Resource":
        if not isinstance(value, dict):
            raise ValueError(f"{e.name} must hold a resource")
        _add_resource(child, value)
    elif e.type in table.primitives:
        if extra:
            _add_children(child, "Element", extra)
        if value is not None:
            child.set("value", _xml_value(value))
    elif isinstance(value, dict):
        _add_children(child, e.type, value)
    else:
        raise ValueError(f"{e.name} must be an object of type {e.type}")


def to_xml(resource: Mapping[str, Any], pretty: bool = False) -> bytes:
    """Serialise a resource (JSON form) as FHIR XML, elements in definition order."""
    root = _add_resource(None, resource)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=pretty)


def dumps(resource: Mapping[str, Any], fmt: Format) -> bytes:
    return to_xml(resource) if fmt == "xml" else to_json(resource)


def media_type(fmt: Format) -> str:
    return XML_MEDIA_TYPE if fmt == "xml" else JSON_MEDIA_TYPE


# --------------------------------------------------------------------------- negotiation

_FORMAT_PARAM = {
    "json": "json",
    "application/fhir+json": "json",
    "application/json": "json",
    "application/json+fhir": "json",
    "xml": "xml",
    "application/fhir+xml": "xml",
    "application/xml": "xml",
    "application/xml+fhir": "xml",
    "text/xml": "xml",
}


def negotiate(format_param: str | None, accept: str | None) -> Format:
    """``_format`` wins over ``Accept``; the best recognised Accept type (q, then order) decides; else json."""
    if format_param:
        fmt = _FORMAT_PARAM.get(format_param.split(";")[0].strip().lower())
        if fmt:
            return fmt  # type: ignore[return-value]
    if accept:
        ranked: list[tuple[float, int, str]] = []
        for i, part in enumerate(accept.split(",")):
            pieces = [p.strip() for p in part.split(";")]
            q = 1.0
            for p in pieces[1:]:
                if p.startswith("q="):
                    try:
                        q = float(p[2:])
                    except ValueError:
                        q = 0.0
            fmt = _FORMAT_PARAM.get(pieces[0].lower())
            if fmt and q > 0:
                ranked.append((-q, i, fmt))
        if ranked:
            return min(ranked)[2]  # type: ignore[return-value]
    return "json"
