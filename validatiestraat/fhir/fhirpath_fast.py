"""A fast path for invariants: fhirpathpy's AST compiled into Python closures, plus hand-written equivalents.

fhirpathpy costs 100–300 µs an evaluation (it merges its function table on every call, reduces through lists, and
evaluates both sides of every ``and``/``or``); a Bundle has thousands of element instances, each with ``ele-1``
and more. :func:`compile_fast` turns the subset of FHIRPath that invariants use (navigation, existence, boolean
logic with HL7's short-circuit, equality and comparisons, the common string functions, ``where``/``all``/
``select``/``iif``, types, and the shim functions) into closures over :mod:`fhirpath_model`, whose semantics the
fhirpathpy path shares. Anything else is :class:`Unsupported` at compile time, and a case the closures do not
decide on their own raises :class:`Fallback` at run time: :mod:`fhirpath` then evaluates with fhirpathpy. The
tests run fixture invariants both ways and require the same verdicts.

A compiled expression is ``fn(input, this, context) -> list``; function parameters are evaluated against
``$this`` (as in fhirpathpy and HL7), criteria once per item with that item as ``$this``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fhirpathpy.engine import util
from fhirpathpy.engine.evaluators import evaluators as _LITERALS
from fhirpathpy.engine.nodes import FP_DateTime, FP_Time, ResourceNode

from validatiestraat.fhir import fhirpath_model as fm

Fn = Callable[[list[Any], list[Any], fm.Context], list[Any]]
Native = Callable[[ResourceNode, fm.Context], "bool | None"]


class Unsupported(Exception):
    """The expression uses something the fast path does not compile."""


class Fallback(Exception):
    """The fast path cannot decide this case the way fhirpathpy would; evaluate with fhirpathpy."""


# --------------------------------------------------------------------------- helpers


def _text(node: dict[str, Any]) -> str:
    return str(node.get("text") or "")


def _identifier(node: dict[str, Any]) -> str:
    return str(node["children"][0]["text"]).replace("`", "")


def _params(functn: dict[str, Any]) -> list[dict[str, Any]]:
    children = functn["children"]
    return list(children[1]["children"]) if len(children) > 1 else []


def _single_str(items: list[Any]) -> str:
    if len(items) == 1:
        value = util.get_data(items[0])
        if value.__class__ is str:
            return value  # type: ignore[no-any-return]
    raise Fallback("not a single string")


def _equal_items(a: Any, b: Any) -> bool:
    left, right = util.get_data(a), util.get_data(b)
    if left.__class__ is bool or right.__class__ is bool:
        return left is right
    return bool(left == right)


def _equality(a: list[Any], b: list[Any]) -> list[Any]:
    if not a or not b:
        return []
    for item in (*a, *b):
        value = util.get_data(item)
        if (
            isinstance(value, FP_DateTime | FP_Time)
            or fm.type_name(item) in fm.DATE_TYPES
            or fm.type_name(item) == "time"
        ):
            raise Fallback("date equality")
        if value.__class__ is dict and fm.type_name(item) in ("Quantity", "SimpleQuantity", "Age", "Duration"):
            raise Fallback("quantity equality")
    if len(a) != len(b):
        return [False]
    return [all(_equal_items(x, y) for x, y in zip(a, b, strict=True))]


def _contains(collection: list[Any], item: list[Any]) -> list[Any]:
    if not item:
        return []
    if not collection:
        return [False]
    if len(item) > 1:
        raise Fallback("membership of several items")
    return [any(_equal_items(c, item[0]) for c in collection)]


def _to_string(value: Any) -> str:
    if value.__class__ is bool:
        raise Fallback("boolean to string")
    return str(value)


# --------------------------------------------------------------------------- functions


def _function(name: str, params: list[dict[str, Any]]) -> Fn:
    arity = len(params)
    p = [_compile(x) for x in params] if name not in ("ofType", "is", "as") else []

    def param(index: int, this: list[Any], cx: fm.Context) -> list[Any]:
        return p[index](this, this, cx)

    def arity_is(*allowed: int) -> None:
        if arity not in allowed:
            raise Unsupported(f"{name} with {arity} parameters")

    if name in ("exists", "where", "all", "select") and arity == 1:
        crit = p[0]
        if name == "exists":
            return lambda inp, this, cx: [any(fm.as_bool(crit([i], [i], cx)) is True for i in inp)]
        if name == "where":
            return lambda inp, this, cx: [i for i in inp if fm.as_bool(crit([i], [i], cx)) is True]
        if name == "all":
            return lambda inp, this, cx: [all(fm.as_bool(crit([i], [i], cx)) is True for i in inp)]
        return lambda inp, this, cx: [r for i in inp for r in crit([i], [i], cx)]
    if name == "iif":
        arity_is(2, 3)
        cond, yes = p[0], p[1]
        no = p[2] if arity == 3 else None
        return lambda inp, this, cx: (
            yes(inp, inp, cx) if fm.as_bool(cond(inp, inp, cx)) is True else no(inp, inp, cx) if no else []
        )
    if name in ("ofType", "is", "as"):
        arity_is(1)
        spec = fm.type_spec(_text(params[0]))
        if name == "ofType" or name == "as":
            return lambda inp, this, cx: [i for i in inp if fm.type_matches(i, spec)]
        return lambda inp, this, cx: [] if not inp else [len(inp) == 1 and fm.type_matches(inp[0], spec)]
    if name == "trace":
        return lambda inp, this, cx: inp
    if name in ("extension", "startsWith", "endsWith", "contains", "matches", "memberOf", "conformsTo"):
        arity_is(1)
        if name == "extension":
            return lambda inp, this, cx: fm.extension(inp, _single_param(param(0, this, cx)))
        if name == "memberOf":
            return lambda inp, this, cx: fm.member_of(inp, _single_param(param(0, this, cx)), cx)
        if name == "conformsTo":
            return lambda inp, this, cx: fm.conforms_to(inp, _single_param(param(0, this, cx)), cx)
        return _string_function(name, param)
    if name in ("intersect", "combine", "union", "subsetOf", "supersetOf", "exclude"):
        arity_is(1)
        return _collection_function(name, param)
    if name == "substring":
        arity_is(1, 2)

        def substring(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
            if not inp:
                return []
            text, start = _single_str(inp), util.get_data(_single(param(0, this, cx)))
            if start is None or start.__class__ is not int or start < 0 or start >= len(text):
                return []
            if arity == 1:
                return [text[start:]]
            length = util.get_data(_single(param(1, this, cx)))
            return [text[start:]] if length is None else [text[start : start + int(length)]]

        return substring
    if name == "replaceMatches":
        arity_is(2)

        def replace_matches(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
            if not inp:
                return []
            pattern, replacement = _single_param(param(0, this, cx)), _single_param(param(1, this, cx))
            if pattern.__class__ is not str or replacement.__class__ is not str:
                return []
            return [re.sub(pattern, replacement, _single_str(inp))]

        return replace_matches
    arity_is(0)
    simple = _SIMPLE.get(name)
    if simple is None:
        raise Unsupported(f"function {name}")
    return simple


def _single(items: list[Any]) -> Any:
    if len(items) > 1:
        raise Fallback("parameter is a collection")
    return items[0] if items else None


def _single_param(items: list[Any]) -> Any:
    return util.get_data(_single(items))


def _string_function(name: str, param: Callable[[int, list[Any], fm.Context], list[Any]]) -> Fn:
    def run(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
        if not inp:
            return []
        argument = _single_param(param(0, this, cx))
        if argument is None:
            return []
        text = _single_str(inp)
        if argument.__class__ is not str:
            raise Fallback(f"{name} of a non-string")
        if name == "startsWith":
            return [bool(text) and text.startswith(argument)]
        if name == "endsWith":
            return [bool(text) and text.endswith(argument)]
        if name == "contains":
            return [argument in text]
        if not argument:
            return []
        return [re.search(argument, text, re.DOTALL) is not None]

    return run


def _collection_function(name: str, param: Callable[[int, list[Any], fm.Context], list[Any]]) -> Fn:
    def run(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
        other = param(0, this, cx)
        if name == "combine":
            return inp + other
        if name == "union":
            return fm.distinct(inp + other)
        if name == "exclude":
            return [i for i in inp if not any(_equal_items(i, o) for o in other)]
        if name == "intersect":
            return fm.distinct(i for i in inp if any(_equal_items(i, o) for o in other))
        small, large = (inp, other) if name == "subsetOf" else (other, inp)
        return [all(any(_equal_items(s, x) for x in large) for s in small)]

    return run


def _to_integer(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
    if len(inp) != 1:
        return []
    value = util.get_data(inp[0])
    if value.__class__ is bool:
        return [int(value)]
    if value.__class__ is str:
        return [int(value)] if re.fullmatch(r"[+-]?\d+", value) else []
    return [int(value)] if util.is_number(value) and int(value) == value else []


def _not(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
    value = fm.as_bool(inp)
    return [] if value is None else [not value]


_SIMPLE: dict[str, Fn] = {
    "exists": lambda inp, this, cx: [bool(inp)],
    "empty": lambda inp, this, cx: [not inp],
    "not": _not,
    "count": lambda inp, this, cx: [len(inp)],
    "hasValue": lambda inp, this, cx: [len(inp) == 1 and fm.has_value(inp[0])],
    "getValue": lambda inp, this, cx: [util.get_data(inp[0])] if len(inp) == 1 and fm.has_value(inp[0]) else [],
    "first": lambda inp, this, cx: inp[:1],
    "last": lambda inp, this, cx: inp[-1:],
    "tail": lambda inp, this, cx: inp[1:],
    "single": lambda inp, this, cx: inp if len(inp) <= 1 else _raise(Fallback("single() of many")),
    "distinct": lambda inp, this, cx: fm.distinct(inp),
    "isDistinct": lambda inp, this, cx: [len(fm.distinct(inp)) == len(inp)],
    "children": lambda inp, this, cx: [c for i in inp for c in fm.children(i)],
    "descendants": lambda inp, this, cx: fm.descendants(inp),
    "resolve": lambda inp, this, cx: fm.resolve(inp, cx),
    "htmlChecks": lambda inp, this, cx: fm.html_check(inp, 0),
    "htmlChecks1": lambda inp, this, cx: fm.html_check(inp, 0),
    "htmlChecks2": lambda inp, this, cx: fm.html_check(inp, 1),
    "length": lambda inp, this, cx: [len(_single_str(inp))] if inp else [],
    "toString": lambda inp, this, cx: [_to_string(util.get_data(inp[0]))] if len(inp) == 1 else [],
    "toInteger": _to_integer,
    "allTrue": lambda inp, this, cx: [all(util.get_data(i) is True for i in inp)],
    "anyTrue": lambda inp, this, cx: [any(util.get_data(i) is True for i in inp)],
}


def _raise(exc: Exception) -> Any:
    raise exc


# --------------------------------------------------------------------------- operators


def _logic(op: str, left: Fn, right: Fn) -> Fn:
    """HL7's three-valued logic with its short-circuit (``preOperate``): ``false and``, ``true or``,
    ``false implies`` do not evaluate their right side."""

    def run(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
        lv = fm.as_bool(left(inp, this, cx))
        if op == "and" and lv is False:
            return [False]
        if op == "or" and lv is True:
            return [True]
        if op == "implies" and lv is False:
            return [True]
        rv = fm.as_bool(right(inp, this, cx))
        if op == "and":
            return [True] if lv and rv else [False] if rv is False else []
        if op == "or":
            return [False] if lv is False and rv is False else [True] if rv else []
        if op == "implies":
            return [True] if rv is True else [False] if lv is True and rv is False else []
        return [] if lv is None or rv is None else [lv != rv]  # xor

    return run


def _comparison(test: Callable[[int], bool], left: Fn, right: Fn) -> Fn:
    def run(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
        a, b = left(inp, this, cx), right(inp, this, cx)
        if not a or not b:
            return []
        order = fm.compare(a, b)
        return [] if order is None else [test(order)]

    return run


def _additive(op: str, left: Fn, right: Fn) -> Fn:
    def run(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
        a, b = left(inp, this, cx), right(inp, this, cx)
        if op == "&":
            x = _single_param(a) if a else ""
            y = _single_param(b) if b else ""
            if x.__class__ is not str or y.__class__ is not str:
                raise Fallback("& of non-strings")
            return [x + y]
        if not a or not b:
            return []
        x, y = _single_param(a), _single_param(b)
        if x.__class__ is str and y.__class__ is str and op == "+":
            return [x + y]
        if util.is_number(x) and util.is_number(y):
            return [x + y if op == "+" else x - y]
        raise Fallback(f"{op} of {type(x).__name__} and {type(y).__name__}")

    return run


_COMPARISONS: dict[str, Callable[[int], bool]] = {
    "<": lambda o: o < 0,
    "<=": lambda o: o <= 0,
    ">": lambda o: o > 0,
    ">=": lambda o: o >= 0,
}


# --------------------------------------------------------------------------- the compiler


def _constant(values: list[Any]) -> Fn:
    return lambda inp, this, cx: values


def _external(name: str) -> Fn:
    if name in ("resource", "rootResource"):
        return lambda inp, this, cx: [cx.node(name)]
    if name == "ucum":
        return _constant([fm.UCUM])
    if name == "context":
        raise Unsupported("%context")  # the focus: left to fhirpathpy, which has it as a variable
    raise Unsupported(f"%{name}")


def _member(key: str) -> Fn:
    capitalized = util.is_capitalized(key)

    def run(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
        if capitalized:
            typed = [i for i in inp if fm.type_name(i) == key]
            if typed:
                return typed
        return [c for i in inp for c in fm.members(i, key)]

    return run


def _compile(n: dict[str, Any]) -> Fn:
    kind = n["type"]
    kids = n.get("children") or []
    if kind in ("TermExpression", "InvocationTerm", "ParenthesizedTerm"):
        return _compile(kids[0])
    if kind == "LiteralTerm":
        literal = kids[0]
        if literal["type"] not in ("StringLiteral", "NumberLiteral", "BooleanLiteral", "NullLiteral"):
            raise Unsupported(literal["type"])
        return _constant(_LITERALS[literal["type"]](None, None, literal))
    if kind == "ExternalConstantTerm":
        return _external(_identifier(kids[0]))
    if kind == "ThisInvocation":
        return lambda inp, this, cx: this
    if kind == "MemberInvocation":
        return _member(_identifier(n))
    if kind == "FunctionInvocation":
        functn = kids[0]
        return _function(_identifier(functn), _params(functn))
    if kind == "InvocationExpression":
        left, right = _compile(kids[0]), _compile(kids[1])
        return lambda inp, this, cx: right(left(inp, this, cx), this, cx)
    op = (n.get("terminalNodeText") or [""])[0]
    if kind in ("AndExpression", "OrExpression", "ImpliesExpression"):
        return _logic(op, _compile(kids[0]), _compile(kids[1]))
    if kind == "EqualityExpression" and op in ("=", "!="):
        left, right = _compile(kids[0]), _compile(kids[1])
        if op == "=":
            return lambda inp, this, cx: _equality(left(inp, this, cx), right(inp, this, cx))
        return lambda inp, this, cx: [not r[0] for r in (_equality(left(inp, this, cx), right(inp, this, cx)),) if r]
    if kind == "InequalityExpression":
        return _comparison(_COMPARISONS[op], _compile(kids[0]), _compile(kids[1]))
    if kind == "MembershipExpression":
        left, right = _compile(kids[0]), _compile(kids[1])
        if op == "in":
            return lambda inp, this, cx: _contains(right(inp, this, cx), left(inp, this, cx))
        return lambda inp, this, cx: _contains(left(inp, this, cx), right(inp, this, cx))
    if kind == "UnionExpression":
        left, right = _compile(kids[0]), _compile(kids[1])
        return lambda inp, this, cx: fm.distinct(left(inp, this, cx) + right(inp, this, cx))
    if kind == "AdditiveExpression" and op in ("+", "-", "&"):
        return _additive(op, _compile(kids[0]), _compile(kids[1]))
    if kind == "TypeExpression":
        left = _compile(kids[0])
        spec = fm.type_spec(_text(kids[1]))
        if op == "as":
            return lambda inp, this, cx: [i for i in left(inp, this, cx) if fm.type_matches(i, spec)]

        def is_op(inp: list[Any], this: list[Any], cx: fm.Context) -> list[Any]:
            items = left(inp, this, cx)
            return [len(items) == 1 and fm.type_matches(items[0], spec)] if items else []

        return is_op
    raise Unsupported(kind)


def compile_fast(ast: dict[str, Any]) -> Fn | None:
    """Closures for a parsed expression (fhirpathpy's AST), or None when it uses what the fast path lacks."""
    try:
        return _compile(ast["children"][0])
    except (Unsupported, KeyError, IndexError):
        return None


# --------------------------------------------------------------------------- hand-written equivalents


def _count(value: Any) -> int:
    if value is None:
        return 0
    return sum(1 for v in value if v is not None) if value.__class__ is list else 1


def _ele1(focus: ResourceNode, cx: fm.Context) -> bool:
    """ele-1 ``hasValue() or (children().count() > id.count())``: a value, or a child other than ``id``."""
    data = focus.data
    if data.__class__ is not dict:
        if data is not None and (data.__class__ is not str or data != ""):
            return True  # a primitive with a value (a complex element's data is always an object)
        data = focus._data
        if data.__class__ is not dict:
            return False
    return any(key not in ("id", "_id", "resourceType") and _count(value) for key, value in data.items())


def _ext1(focus: ResourceNode, cx: fm.Context) -> bool:
    """ext-1 ``extension.exists() != value.exists()``."""
    data = focus.data
    if data.__class__ is not dict:
        return True
    has_value = any(_VALUE_KEY.match(k) and _count(v) for k, v in data.items())
    return bool(_count(data.get("extension"))) != has_value


_VALUE_KEY = re.compile(r"^_?value[A-Z]")


def _contained(focus: ResourceNode) -> list[dict[str, Any]]:
    contained = focus.data.get("contained") if focus.data.__class__ is dict else None
    return [c for c in contained if c.__class__ is dict] if contained.__class__ is list else []


def _dom3(focus: ResourceNode, cx: fm.Context) -> bool | None:
    """dom-3 holds trivially without contained resources; with them, the full expression decides."""
    return True if not _contained(focus) else None


def _ref1(focus: ResourceNode, cx: fm.Context) -> bool:
    """ref-1 as HL7 fixes it: a local ``#id`` reference names a resource contained in the root resource."""
    reference = focus.data.get("reference") if focus.data.__class__ is dict else None
    if reference.__class__ is not str or reference == "#" or not reference.startswith("#"):
        return True
    contained = cx.root.get("contained")
    return contained.__class__ is list and any(c.__class__ is dict and c.get("id") == reference[1:] for c in contained)


def _entries(focus: ResourceNode) -> list[dict[str, Any]]:
    entries = focus.data.get("entry") if focus.data.__class__ is dict else None
    return [e for e in entries if e.__class__ is dict] if entries.__class__ is list else []


def _bundle_rule(part: str, types: tuple[str, ...]) -> Native:
    """bdl-3/bdl-4: every entry has a ``request`` (``response``) exactly when the Bundle's type is one of these."""

    def run(focus: ResourceNode, cx: fm.Context) -> bool | None:
        if focus.data.__class__ is not dict or focus.data is not cx.resource:
            return None  # %resource is not the Bundle in focus: the full expression
        wanted = cx.resource.get("type") in types
        return all((e.get(part) is not None or e.get(f"_{part}") is not None) == wanted for e in _entries(focus))

    return run


def _bdl7(focus: ResourceNode, cx: fm.Context) -> bool | None:
    """bdl-7: fullUrl with meta.versionId is unique among the entries (not for a history Bundle)."""
    if focus.data.__class__ is not dict or focus.data.get("type") == "history":
        return True
    seen: set[str] = set()
    for entry in _entries(focus):
        full_url = entry.get("fullUrl")
        if full_url is None:
            continue
        resource = entry.get("resource")
        meta = resource.get("meta") if resource.__class__ is dict else None
        version = meta.get("versionId", "") if meta.__class__ is dict else ""
        if full_url.__class__ is not str or version.__class__ is not str:
            return None
        if full_url + version in seen:
            return False
        seen.add(full_url + version)
    return True


NATIVE: dict[str, Native] = {
    "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type "
    "= 'history'))": _bundle_rule("request", ("batch", "transaction", "history")),
    "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' "
    "or %resource.type = 'history'))": _bundle_rule("response", ("batch-response", "transaction-response", "history")),
    "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()": _bdl7,
    "hasValue() or (children().count() > id.count())": _ele1,
    "extension.exists() != value.exists()": _ext1,
    "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | "
    "%resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#')"
    ".exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#')"
    ".exists()).not()).trace('unmatched', id).empty()": _dom3,
    "reference.exists() implies (reference = '#' or (reference.startsWith('#').not() or (reference.substring(1)"
    ".trace('url') in %rootResource.contained.id.trace('ids'))))": _ref1,
}
