"""The FHIRPath data model for invariants: typed element nodes over FHIR R4 JSON, and HL7 6.0.21's semantics.

Shared by the two evaluators of :mod:`validatiestraat.fhir.fhirpath` (fhirpathpy with a shim, and the compiled
fast path of :mod:`validatiestraat.fhir.fhirpath_fast`), so both navigate, compare and convert the same way.

A node is a fhirpathpy ``ResourceNode`` (:class:`Node`) whose ``path`` is the element's type (``Quantity``,
``dateTime``) or, for a BackboneElement, its R4 model path (``MedicationRequest.dispenseRequest``). A primitive
with a ``_x`` companion is *one* node: the value as data, the companion (id, extensions) in ``_data``; a primitive
with only the companion keeps that as its data (``.extension`` works, ``hasValue()`` is false). fhirpathpy makes
two nodes of such a primitive, which breaks ``count()``, comparisons and ``&``.

The JSON is the parsed form (``dict``/``list``/``str``/numbers): ``isinstance(x, dict)`` is used, not ``Mapping``,
because the ABC check costs half a microsecond and an invariant run makes millions of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Protocol

from fhirpathpy.engine import util
from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time, ResourceNode, TypeInfo
from fhirpathpy.models import models
from lxml import etree

MODEL: dict[str, Any] = models["r4"]
_PATH2TYPE: dict[str, str] = MODEL["path2Type"]
_CHOICES: dict[str, list[str]] = MODEL["choiceTypePaths"]
_ELSEWHERE: dict[str, str] = MODEL["pathsDefinedElsewhere"]
UCUM = "http://unitsofmeasure.org"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PRIMITIVES = _words(
    "boolean integer string decimal uri url canonical base64Binary instant date dateTime time code oid id "
    "markdown unsignedInt positiveInt uuid xhtml"
)
DATE_TYPES = frozenset({"date", "dateTime", "instant"})
_SYSTEM_TYPES = {  # System type -> the FHIR primitives of that kind (HL7 funcIs/funcAs with System.*)
    "Boolean": {"boolean"},
    "String": {"string", "code", "id", "markdown", "uri", "url", "canonical", "oid", "uuid", "base64Binary", "xhtml"},
    "Integer": {"integer", "unsignedInt", "positiveInt"},
    "Decimal": {"decimal"},
    "Date": {"date"},
    "DateTime": {"dateTime", "instant"},
    "Time": {"time"},
}


class Resolver(Protocol):
    def resolve(self, reference: str, context: Context) -> dict[str, Any] | None: ...


@dataclass(slots=True)
class Context:
    """What an evaluation sees besides its focus: ``%resource``, ``%rootResource``, the Bundle that ``resolve()``
    searches (and the entry's fullUrl), and the owner's callbacks."""

    resource: dict[str, Any]
    root: dict[str, Any]
    bundle: dict[str, Any] | None = None
    full_url: str | None = None
    resolver: Resolver | None = None
    member_of: Callable[[str, Any], bool | None] | None = None
    conforms_to: Callable[[Any, str], bool | None] | None = None
    _nodes: dict[str, ResourceNode] = field(default_factory=dict)

    def node(self, which: str) -> ResourceNode:
        """``%resource`` or ``%rootResource`` as a typed node (made once)."""
        found = self._nodes.get(which)
        if found is None:
            data = self.resource if which == "resource" else self.root
            found = self._nodes[which] = Node(data, str(data.get("resourceType", "")))
        return found


# --------------------------------------------------------------------------- nodes and navigation


@lru_cache(maxsize=4096)
def model_path(path: str) -> str:
    """The R4 model's name of an element path: content references resolved (``Questionnaire.item.item`` is
    ``Questionnaire.item``), so a BackboneElement's children are found."""
    parts = path.split(".")
    current = parts[0]
    for part in parts[1:]:
        current = f"{current}.{part}"
        current = _ELSEWHERE.get(current, current)
    return current


class Node(ResourceNode):
    """fhirpathpy's ResourceNode, made without its ``isinstance(data, Mapping)`` (an ABC check, slow)."""

    def __init__(self, data: Any, path: str | None, _data: Any = None) -> None:
        if data.__class__ is dict and "resourceType" in data:
            path = data["resourceType"]
        self.path = path
        self.data = data
        self._data = _data
        self.propName = None
        self.index = None


def node(value: Any, ext: Any, type_name: str) -> ResourceNode:
    """One element instance of type ``type_name`` — for a BackboneElement its element path
    (``MedicationRequest.dispenseRequest``) — see the module docstring for primitives and their ``_x``."""
    if "." in type_name and not type_name.startswith("System."):
        type_name = model_path(type_name)
    if ext is None:
        return Node(value, type_name)
    return Node(ext if value is None else value, type_name, ext)


def wrap(value: Any, ext: Any, type_name: str) -> list[ResourceNode]:
    """The nodes of one JSON property (a list gives one node per instance; ``null`` placeholders pair up)."""
    if value.__class__ is list or ext.__class__ is list:
        values = value if value.__class__ is list else ()
        exts = ext if ext.__class__ is list else ()
        out = []
        for i in range(max(len(values), len(exts))):
            v = values[i] if i < len(values) else None
            e = exts[i] if i < len(exts) else None
            if v is not None or e is not None:
                out.append(node(v, e, type_name))
        return out
    if value is None and ext is None:
        return []
    return [node(value, ext, type_name)]


_KNOWN_BASES = (frozenset(p.rsplit(".", 1)[0] for p in _PATH2TYPE) | frozenset(MODEL["type2Parent"])) - {
    "BackboneElement",
    "Element",
}
_TYPE_NAMES = {t[0].upper() + t[1:]: t for t in (*MODEL["type2Parent"], *(PRIMITIVES - {"xhtml"}))}


@lru_cache(maxsize=4096)
def _typed_suffix(name: str) -> tuple[str, str] | None:
    """(element name, type) of a JSON key that ends in a type name (``valueQuantity``), else None."""
    for i in range(1, len(name)):  # the longest type name: effective|DateTime, not effectiveDate|Time
        if name[i].isupper() and name[i:] in _TYPE_NAMES and name[0].islower():
            return name[:i], _TYPE_NAMES[name[i:]]
    return None


def _typed_choices(data: dict[str, Any], key: str) -> list[str]:
    """The type suffixes of the properties of choice ``key`` in ``data`` (``Quantity`` of ``valueQuantity``)."""
    out = []
    for json_key in data:
        name = json_key.lstrip("_")
        typed = _typed_suffix(name)
        if typed is not None and typed[0] == key:
            out.append(name[len(key) :])
    return out


@lru_cache(maxsize=65536)
def child_type(base: str, name: str) -> str:
    """The type (or model path) of property ``name`` (a JSON key: ``valueQuantity``) of an element at ``base``.

    Under a base the R4 model does not know (a BackboneElement node made without its element path), a key that
    ends in a type name (``valueQuantity``, ``boundsPeriod``) is taken to be of that type."""
    if name in ("extension", "modifierExtension"):
        return "Extension"
    path = f"{base}.{name}"
    path = _ELSEWHERE.get(path, path)
    found = _PATH2TYPE.get(path)
    if found is not None:
        return found
    if base not in _KNOWN_BASES:
        typed = _typed_suffix(name)
        if typed is not None:
            return typed[1]
    return path


def _base_path(item: ResourceNode) -> str:
    if item.path:
        return item.path
    data = item.data
    return str(data.get("resourceType", "")) if isinstance(data, dict) else ""


def members(item: Any, key: str) -> list[Any]:
    """``item.key`` with the R4 model: a choice name finds its typed property (``value`` → ``valueQuantity``)."""
    if not isinstance(item, ResourceNode):
        item = ResourceNode.create_node(item)
    data = item.data
    if data.__class__ is not dict:
        if isinstance(data, FP_Quantity):
            if key == "value":
                return [data.value]
            return [str(data.unit).strip("'")] if key in ("unit", "code") else []
        companion = item._data
        if companion.__class__ is dict and key in ("extension", "id"):
            return wrap(companion.get(key), None, "Extension" if key == "extension" else "System.String")
        return []
    field_name = key
    if key not in data and f"_{key}" not in data:
        base = _base_path(item)
        path = f"{base}.{key}"
        suffixes = _CHOICES.get(_ELSEWHERE.get(path, path))
        if suffixes is None and base not in _KNOWN_BASES:  # a choice under an unknown base: any typed key
            suffixes = _typed_choices(data, key)
        for suffix in suffixes or ():
            if key + suffix in data or f"_{key}{suffix}" in data:
                field_name = key + suffix
                break
        else:
            return []
    return wrap(data.get(field_name), data.get(f"_{field_name}"), child_type(_base_path(item), field_name))


def children(item: Any) -> list[Any]:
    """``children()``: every property's nodes; for a primitive, the id and extensions of its companion."""
    if not isinstance(item, ResourceNode):
        item = ResourceNode.create_node(item)
    data = item.data
    if data.__class__ is dict:
        base = _base_path(item)
        out: list[Any] = []
        seen: set[str] = set()
        for key in data:
            name = key[1:] if key.startswith("_") else key
            if name == "resourceType" or name in seen:
                continue
            seen.add(name)
            out += wrap(data.get(name), data.get(f"_{name}"), child_type(base, name))
        return out
    companion = item._data
    if companion.__class__ is dict:
        return wrap(companion.get("id"), None, "System.String") + wrap(companion.get("extension"), None, "Extension")
    return []


def descendants(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    level = [c for i in items for c in children(i)]
    while level:
        out += level
        level = [c for i in level for c in children(i)]
    return out


def type_name(item: Any) -> str | None:
    """The FHIR type (or model path) of a node; None for a plain value (a literal or a computed one)."""
    if isinstance(item, ResourceNode):
        data = item.data
        if data.__class__ is dict and "resourceType" in data:
            return str(data["resourceType"])
        return item.path
    return None


def is_primitive(item: Any) -> bool:
    name = type_name(item)
    return name is not None and (name in PRIMITIVES or name.startswith("System."))


def has_value(item: Any) -> bool:
    """FHIRPath ``hasValue()`` for one item: a primitive with an actual value (HL7: a non-empty string form)."""
    if isinstance(item, ResourceNode) and not is_primitive(item):
        return False
    data = util.get_data(item)
    return data is not None and data.__class__ not in (dict, list) and str(data) != ""


def focus_node(resource: dict[str, Any], focus_path: Sequence[str | int], focus_type: str | None = None) -> Any:
    """The typed node of the element at ``focus_path`` (JSON keys and list indexes) inside ``resource``.

    Its type is ``focus_type`` when that names a type; for a BackboneElement (or no type) it is the R4 model path,
    which is how fhirpathpy types such nodes. Raises LookupError when nothing is at the path."""
    if not focus_path:
        return Node(resource, str(resource.get("resourceType", "")))
    model_path = str(resource.get("resourceType", ""))
    value: Any = resource
    ext: Any = None
    for step in focus_path:
        if step.__class__ is int:
            if value.__class__ is not list and ext.__class__ is not list:
                raise LookupError(f"index {step} on a non-list")
            value = value[step] if value.__class__ is list and step < len(value) else None  # type: ignore[operator,index]
            ext = ext[step] if ext.__class__ is list and step < len(ext) else None  # type: ignore[operator,index]
            continue
        parent = value if value.__class__ is dict else ext if ext.__class__ is dict else None
        if parent is None:
            raise LookupError(f"{step}: the parent is not an object")
        if "resourceType" in parent and parent is not resource:
            model_path = str(parent["resourceType"])
        value, ext = parent.get(step), parent.get(f"_{step}")
        model_path = child_type(model_path, str(step))
    if value is None and ext is None:
        raise LookupError("/".join(str(s) for s in focus_path) + ": not in the resource")
    focus_type = focus_type.rsplit("/", 1)[-1] if focus_type else None  # R4 ids: .../fhirpath/System.String
    if focus_type and focus_type not in ("BackboneElement", "Element") and not model_path.startswith("System."):
        model_path = focus_type
    return node(value, ext, model_path)


# --------------------------------------------------------------------------- types


def type_matches(item: Any, spec: TypeInfo) -> bool:
    """``item is spec`` for one item (FHIR types with their ancestors; System types also match FHIR primitives)."""
    name = type_name(item)
    if spec.name in _SYSTEM_TYPES and spec.namespace in (None, "System") and name in _SYSTEM_TYPES[spec.name]:
        return True
    if name is None and isinstance(item, ResourceNode):
        return False
    previous, TypeInfo.model = TypeInfo.model, MODEL  # fhirpathpy keeps its model in a class attribute
    try:
        return bool(TypeInfo.from_value(item).is_(spec))
    finally:
        TypeInfo.model = previous


def type_spec(text: str) -> TypeInfo:
    parts = text.replace("`", "").split(".")
    return TypeInfo(name=parts[-1], namespace=parts[0] if len(parts) == 2 else None)


# --------------------------------------------------------------------------- booleans, equality, distinct


def as_bool(items: list[Any]) -> bool | None:
    """HL7 asBool of a collection: empty is None, a boolean is itself, any other single item is true."""
    if not items:
        return None
    if len(items) > 1:
        raise TypeError(f"a collection of {len(items)} items is not a boolean")
    value = util.get_data(items[0])
    return value if value.__class__ is bool else True


def key_of(item: Any) -> str:
    data = util.get_data(item)
    try:
        return json.dumps(data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(data)


def distinct(items: Iterable[Any]) -> list[Any]:
    """Items without repeats (by value), keeping the first node of each, with its type."""
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(key_of(item), item)
    return list(seen.values())


# --------------------------------------------------------------------------- comparisons (HL7 6.0.21 rules)


_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_TIME = re.compile(r"^T?(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$")
_YEAR, _MONTH, _DAY, _MINUTE, _SECOND, _MILLI = 1, 2, 3, 5, 6, 7


@lru_cache(maxsize=4096)
def datetime_parts(text: str) -> tuple[tuple[int, ...], int]:
    """((year, month, day, hour, minute, second, millis), precision) — above day precision in Zulu time, as HL7
    (``setTimeZoneZulu``) does; a time without a zone counts as UTC (HL7 would take the JVM's zone)."""
    m = _DATETIME.match(text)
    if not m:
        raise ValueError(f"not a date/dateTime: {text!r}")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    if hour is None:
        precision = _YEAR if month is None else _MONTH if day is None else _DAY
        return (int(year), int(month or 1), int(day or 1), 0, 0, 0, 0), precision
    precision = _MINUTE if second is None else _SECOND if frac is None else _MILLI
    millis = int((frac or "0")[:3].ljust(3, "0"))
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second, millis), precision


def compare_datetimes(left: str, right: str) -> int | None:
    """HL7 ``BaseDateTimeType.compareTimes``: field by field; None (empty) when one stops at a coarser precision."""
    (lp, lprec), (rp, rprec) = datetime_parts(left), datetime_parts(right)
    for index, precision in ((0, _YEAR), (1, _MONTH), (2, _DAY)):
        if lp[index] != rp[index]:
            return -1 if lp[index] < rp[index] else 1
        if lprec == precision and rprec == precision:
            return 0
        if precision in (lprec, rprec):
            return None
    for index in (3, 4):
        if lp[index] != rp[index]:
            return -1 if lp[index] < rp[index] else 1
    if lprec == _MINUTE and rprec == _MINUTE:
        return 0
    if _MINUTE in (lprec, rprec):
        return None
    if lp[5] != rp[5]:
        return -1 if lp[5] < rp[5] else 1
    if lprec == _SECOND and rprec == _SECOND:
        return 0
    return (lp[6] > rp[6]) - (lp[6] < rp[6])


def compare_times(left: str, right: str) -> int | None:
    lm, rm = _TIME.match(left), _TIME.match(right)
    if not lm or not rm:
        raise ValueError(f"not a time: {left!r} / {right!r}")
    lh, lmin, ls = (int(x) if x else None for x in lm.groups()[:3])
    rh, rmin, rs = (int(x) if x else None for x in rm.groups()[:3])
    if lh != rh:
        return -1 if (lh or 0) < (rh or 0) else 1
    if (lmin or 0) != (rmin or 0):
        return -1 if (lmin or 0) < (rmin or 0) else 1
    if ls is None and rs is None:
        return 0
    if ls is None or rs is None:
        return None
    return (ls > rs) - (ls < rs)


def to_decimal(value: Any) -> Decimal:
    if value.__class__ is bool:
        raise TypeError("a boolean is not a number")
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise TypeError(f"not a number: {value!r}") from exc


_UCUM_FACTORS = {  # enough UCUM to compare the quantities invariants compare (rng-2: low <= high)
    "kg": ("g", Decimal(1000)),
    "g": ("g", Decimal(1)),
    "mg": ("g", Decimal("0.001")),
    "ug": ("g", Decimal("0.000001")),
    "L": ("L", Decimal(1)),
    "l": ("L", Decimal(1)),
    "dL": ("L", Decimal("0.1")),
    "mL": ("L", Decimal("0.001")),
    "ml": ("L", Decimal("0.001")),
    "m": ("m", Decimal(1)),
    "cm": ("m", Decimal("0.01")),
    "mm": ("m", Decimal("0.001")),
    "h": ("s", Decimal(3600)),
    "min": ("s", Decimal(60)),
    "s": ("s", Decimal(1)),
    "d": ("s", Decimal(86400)),
    "wk": ("s", Decimal(604800)),
}
_Quantity = tuple[Decimal, Any, Any]


def _quantity(item: Any) -> _Quantity | None:
    """(value, unit, UCUM code) of a Quantity node or literal, else None."""
    if isinstance(item, FP_Quantity):
        unit = str(item.unit).strip("'") if item.unit else None
        return to_decimal(item.value), unit, unit
    data = util.get_data(item)
    if data.__class__ is dict and "value" in data and "resourceType" not in data and not is_primitive(item):
        code = data.get("code") if data.get("system") == UCUM else None
        return to_decimal(data["value"]), data.get("unit", data.get("code")), code
    return None


def _compare_quantities(left: _Quantity, right: _Quantity) -> int:
    """HL7: same ``unit`` compares values; otherwise through UCUM (here: a small table of common units)."""
    (lv, lu, lc), (rv, ru, rc) = left, right
    if lu != ru:
        lf, rf = _UCUM_FACTORS.get(lc or ""), _UCUM_FACTORS.get(rc or "")
        if not lf or not rf or lf[0] != rf[0]:
            raise TypeError(f"cannot compare quantities in {lu!r} and {ru!r}")
        lv, rv = lv * lf[1], rv * rf[1]
    return (lv > rv) - (lv < rv)


def compare(a: list[Any], b: list[Any]) -> int | None:
    """Order of two single items (``<`` ``<=`` ``>`` ``>=``): -1, 0, 1, or None (empty) for dates whose precisions
    differ. Raises TypeError for what cannot be compared."""
    if len(a) != 1 or len(b) != 1:
        raise TypeError(f"comparison needs single items, got {len(a)} and {len(b)}")
    lq, rq = _quantity(a[0]), _quantity(b[0])
    if lq is not None and rq is not None:
        return _compare_quantities(lq, rq)
    left, right = util.get_data(a[0]), util.get_data(b[0])
    ltype, rtype = type_name(a[0]), type_name(b[0])
    if left.__class__ is dict or right.__class__ is dict:
        raise TypeError("cannot compare an element without a value")
    if isinstance(left, FP_DateTime) or isinstance(right, FP_DateTime) or ltype in DATE_TYPES or rtype in DATE_TYPES:
        return compare_datetimes(str(getattr(left, "asStr", left)), str(getattr(right, "asStr", right)))
    if isinstance(left, FP_Time) or isinstance(right, FP_Time) or "time" in (ltype, rtype):
        return compare_times(str(getattr(left, "asStr", left)), str(getattr(right, "asStr", right)))
    if left.__class__ is str and right.__class__ is str:
        return (left > right) - (left < right)
    lnum, rnum = to_decimal(left), to_decimal(right)
    return (lnum > rnum) - (lnum < rnum)


# --------------------------------------------------------------------------- narrative (txt-1, txt-2)


_HTML_ELEMENTS = _words(
    "p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite blockquote hr "
    "address bdo kbd sub sup ul ol li dl dt dd pre table caption colgroup col thead tr tfoot tbody th td code samp "
    "img map area"
)
_HTML_ATTRIBUTES = _words(
    "title style class id lang xml:lang dir accesskey tabindex span width align valign char charoff abbr axis "
    "headers scope rowspan colspan"
)
_HTML_ELEMENT_ATTRIBUTES = _words(
    "a.href a.name img.src img.border div.xmlns blockquote.cite q.cite a.charset a.type a.hreflang a.rel a.rev "
    "a.shape a.coords img.alt img.longdesc img.height img.width img.usemap img.ismap map.name area.shape "
    "area.coords area.href area.nohref area.alt table.summary table.width table.border table.frame table.rules "
    "table.cellspacing table.cellpadding pre.space td.nowrap"
)
_XML_NS = "{http://www.w3.org/XML/1998/namespace}"


def _attribute_name(element: etree._Element, name: str) -> str:
    if name.startswith(_XML_NS):
        return "xml:" + name[len(_XML_NS) :]
    if name.startswith("{"):
        namespace, local = name[1:].split("}", 1)
        prefix = next((p for p, ns in element.nsmap.items() if ns == namespace and p), None)
        return f"{prefix}:{local}" if prefix else local
    return name


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _names_ok(root: etree._Element) -> bool:
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        name = _local(tag)
        if name not in _HTML_ELEMENTS:
            return False
        for attribute in element.attrib:
            attr = _attribute_name(element, attribute) if attribute[0] == "{" else attribute
            if not (
                attr in _HTML_ATTRIBUTES or f"{name}.{attr}" in _HTML_ELEMENT_ATTRIBUTES or attr.startswith("xmlns")
            ):
                return False
    return True


def _has_content(root: etree._Element) -> bool:
    for element in root.iter():
        if isinstance(element.tag, str) and (_local(element.tag) == "img" or (element.text or "").strip()):
            return True
        if element is not root and (element.tail or "").strip():
            return True
    return False


_XHTML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)  # made once: 20 µs each


@lru_cache(maxsize=1024)
def html_checks(xhtml: str) -> tuple[bool, bool]:
    """(txt-1, txt-2) of a narrative ``div`` as HL7 checks them: only the allowed XHTML elements and attributes
    (``checkHtmlNames``: no script, no event handlers, no DOCTYPE); some non-whitespace text or an image
    (``checkForContent``). Not well-formed XML fails both."""
    try:
        root = etree.fromstring(xhtml.encode("utf-8"), _XHTML_PARSER)
    except etree.XMLSyntaxError:
        return False, False
    if root.getroottree().docinfo.doctype:
        return False, _has_content(root)
    return _names_ok(root), _has_content(root)


def html_check(items: list[Any], which: int) -> list[bool]:
    if len(items) != 1:
        return [False]
    text = util.get_data(items[0])
    return [text.__class__ is str and html_checks(text)[which]]


# --------------------------------------------------------------------------- shim functions on a Context


def resolve(items: list[Any], context: Context) -> list[Any]:
    """``resolve()``: the resources the References (or canonical/uri strings) point at; unresolvable ones vanish."""
    out = []
    for item in items:
        data = util.get_data(item)
        reference = data.get("reference") if data.__class__ is dict else data
        if reference.__class__ is str and context.resolver is not None:
            found = context.resolver.resolve(reference, context)
            if found is not None:
                out.append(Node(found, str(found.get("resourceType", ""))))
    return out


def member_of(items: list[Any], url: Any, context: Context) -> list[Any]:
    if len(items) != 1 or context.member_of is None or url.__class__ is not str:
        return []
    verdict = context.member_of(url, util.get_data(items[0]))
    return [] if verdict is None else [bool(verdict)]


def conforms_to(items: list[Any], url: Any, context: Context) -> list[Any]:
    if len(items) != 1:
        return []
    callback = context.conforms_to
    verdict = None if callback is None or url.__class__ is not str else callback(util.get_data(items[0]), url)
    return [True if verdict is None else bool(verdict)]


def extension(items: list[Any], url: Any) -> list[Any]:
    """``extension(url)``, also on primitives (their companion) and, as HL7 does, over modifierExtension too."""
    out = []
    for item in items:
        if not isinstance(item, ResourceNode):
            continue
        holders = [h for h in (item.data, item._data) if h.__class__ is dict]
        if len(holders) == 2 and holders[0] is holders[1]:
            holders = holders[:1]
        for holder in holders:
            for key in ("extension", "modifierExtension"):
                for ext in holder.get(key) or ():
                    if ext.__class__ is dict and ext.get("url") == url:
                        out.append(Node(ext, "Extension"))
    return out
