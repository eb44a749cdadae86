"""FHIRPath invariants (``ElementDefinition.constraint``) on FHIR R4 JSON, evaluated as HL7 validator 6.0.21 does.

    invariants = Invariants()
    outcome = invariants.evaluate("start.hasValue().not() or end.hasValue().not() or (start <= end)",
                                  root=resource, resource=resource, focus_path=["effectivePeriod"], focus_type="Period")
    outcome.passed, outcome.error

The validator walks the instance JSON and, for each element instance, knows the enclosing resource
(``%resource``), the root resource (``%rootResource``), the JSON path from the resource to the element and its
FHIR type. The root is the *container* of a contained resource and the resource itself otherwise — also for a
Bundle entry, as HL7 6.0.21 does (``ValidatorHostContext.forEntry``; ref-1 looks for ``#id`` in the root's
``contained``). A Bundle passed as ``root`` for one of its entries is taken as the Bundle that ``resolve()``
searches and the entry becomes its own root; pass ``bundle`` (and ``full_url``, the entry's fullUrl) explicitly
for a resource contained in an entry. A walker that checks many constraints on many elements of one resource
makes the :class:`~fhirpath_model.Context` once (:meth:`Invariants.context`), the node once per element
(:func:`~fhirpath_model.focus_node` or :func:`~fhirpath_model.node` from the value it holds) and calls
:meth:`Invariants.check`: that skips the path walk, which costs more than most invariants.
:meth:`Invariants.judge` is the same for ``validator.InvariantEvaluator`` (value, type, resource, root).

The focus is one typed node (fhirpathpy's ``ResourceNode`` with the element's type as its path), not
``<path>.all(<expr>)``: that keeps choice types and ``is``/``as``/``ofType`` right, says which instance failed and
costs one evaluation per instance. Expressions are parsed once. Three evaluators, fastest first: hand-written
equivalents of the commonest core invariants (``fhirpath_fast.NATIVE``: ele-1, ext-1, ref-1, bdl-3, bdl-4, bdl-7,
dom-3 without contained), closures compiled from the AST (``fhirpath_fast.compile_fast``), and fhirpathpy 2.2.4
with a shim (below) for the rest and for every case the closures hand back. All three share the semantics of
:mod:`fhirpath_model`; the tests run the fixtures' invariants through the fast paths and through fhirpathpy alone.

What fhirpathpy lacks or gets wrong for invariants is shimmed per call (its function table is per call; only the
member-access evaluator is wrapped globally, and it changes behaviour for our calls only): ``resolve()``,
``hasValue()``, ``getValue()``, ``htmlChecks()``/``htmlChecks2()`` (txt-1/txt-2), ``memberOf()``/``conformsTo()``
(callbacks), ``extension(url)`` on primitives (and over modifierExtension, as HL7), ``as``/``is`` on collections
(HL7 R4: ``as`` filters, ``is`` of several items is false), ``children()``/``descendants()`` with primitive
extensions, ``|``/``distinct`` keeping types, date/dateTime/time and Quantity comparisons (HL7's rules),
``and``/``or``/``implies``/``not`` with HL7's boolean conversion, ``%resource``/``%rootResource``/``%context``/
``%ucum``, and a silent ``trace()``. HL7's own expression fixes (``FHIRPathExpressionFixer``) are applied first,
so ``ref-1``, ``bdl-8``, ``txt-2``, the ``*-0`` name rules … mean what HL7 evaluates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from antlr4 import CommonTokenStream, InputStream, ParseTreeWalker, Token
from antlr4.error.ErrorListener import ErrorListener
from fhirpathpy.engine import do_eval, util
from fhirpathpy.engine.evaluators import evaluators as _EVALUATORS
from fhirpathpy.engine.invocations import invocation_registry as _BASE_REGISTRY
from fhirpathpy.engine.invocations.constants import constants as _CONSTANTS
from fhirpathpy.engine.nodes import TypeInfo
from fhirpathpy.parser.ASTPathListener import ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from validatiestraat.fhir import fhirpath_model as fm
from validatiestraat.fhir.fhirpath_fast import NATIVE, Fn, Native, compile_fast
from validatiestraat.fhir.fhirpath_model import Context, focus_node, node

__all__ = [
    "Compiled",
    "Context",
    "InvariantSyntaxError",
    "Invariants",
    "Outcome",
    "fix_expression",
    "focus_node",
    "node",
    "parse",
]

_STATE = "_validatiestraat_invariants"  # the ctx key our fhirpathpy calls carry (and that switches the shim on)
_ELE_1 = "hasValue() or (children().count() > id.count())"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One invariant on one element instance: ``passed`` or not; ``error`` when the expression could not be
    evaluated (then ``passed`` is False: HL7 reports an exception as a failed invariant)."""

    passed: bool
    error: str | None = None


class InvariantSyntaxError(ValueError):
    """The expression does not parse, or calls a function that neither fhirpathpy nor the shim provides."""


# --------------------------------------------------------------------------- HL7's expression fixes


_FIXED_BY_EXPRESSION = {  # the R4 errata HL7 validator 6.0.21 (Apache-2.0) corrects before evaluating: same results
    "probability is decimal implies (probability as decimal) <= 100": (
        "(probability.exists() and (probability is decimal)) implies ((probability as decimal) <= 100)"
    ),
    "enableWhen.count() > 2 implies enableBehavior.exists()": "enableWhen.count() >= 2 implies enableBehavior.exists()",
    "generated='generated' implies source.empty()": "generation='generated' implies source.empty()",
    "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id"
    ".trace('ids'))": "reference.exists() implies (reference = '#' or (reference.startsWith('#').not() or "
    "(reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))))",
    "fullUrl.contains('/_history/').not()": "fullUrl.exists() implies fullUrl.contains('/_history/').not()",
    "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')": "name.exists() implies name.matches('^[A-Z]([A-Za-z0-9_]){0,254}$')",
    "(component.empty() and hasMember.empty()) implies (dataAbsentReason or value)": (
        "(component.empty() and hasMember.empty()) implies (dataAbsentReason.exists() or value.exists())"
    ),
    "isModifier implies isModifierReason.exists()": (
        "(isModifier.exists() and isModifier) implies isModifierReason.exists()"
    ),
    "differential.element.all(id) and differential.element.id.trace('ids').isDistinct()": (
        "differential.element.all(id.exists()) and differential.element.id.trace('ids').isDistinct()"
    ),
    "snapshot.element.all(id) and snapshot.element.id.trace('ids').isDistinct()": (
        "snapshot.element.all(id.exists()) and snapshot.element.id.trace('ids').isDistinct()"
    ),
    "probability is decimal implies probability.as(decimal) <= 100": (
        "probability.empty() or (probability is decimal implies probability.as(decimal) <= 100)"
    ),
}
_FIXED_BY_KEY = {
    "txt-2": "htmlChecks2()",
    "eld-19": "path.matches('^[^\\\\s\\\\.,:;\\\\\\'\"\\\\/|?!@#$%&*()\\\\[\\\\]{}]{1,64}"
    "(\\\\.[^\\\\s\\\\.,:;\\\\\\'\"\\\\/|?!@#$%&*()\\\\[\\\\]{}]{1,64}"
    "(\\\\[x\\\\])?(\\\\:[^\\\\s\\\\.]+)?)*$')",
    "eld-20": "path.matches('^[A-Za-z][A-Za-z0-9]*(\\\\.[a-z][A-Za-z0-9]*(\\\\[x])?)*$')",
}


def fix_expression(expression: str, key: str | None = None) -> str:
    """The expression HL7 6.0.21 evaluates for this constraint (its fixes of mistakes published in R4)."""
    if key is not None and key in _FIXED_BY_KEY:
        return _FIXED_BY_KEY[key]
    return _FIXED_BY_EXPRESSION.get(expression, expression)


# --------------------------------------------------------------------------- parsing


class _RaisingListener(ErrorListener):
    def syntaxError(self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any) -> None:
        raise InvariantSyntaxError(f"column {column}: {msg}")


def _function_names(tree: Any, found: set[str]) -> set[str]:
    if isinstance(tree, dict):
        if tree.get("type") == "FunctionInvocation":
            found.add(tree["children"][0]["children"][0]["text"])
        for child in tree.get("children") or ():
            _function_names(child, found)
    return found


_PARSED: list[Callable[[str], dict[str, Any] | None]] = []


def remember_parsed(version: str | None, lookup: Callable[[str], dict[str, Any] | None]) -> bool:
    """Take ASTs parsed earlier (what the bundled packages carry: ``lookup(expression)`` gives one or None) when
    they were parsed by the fhirpathpy installed here (``version``); :func:`parse` then returns them as they are.
    Returns whether they were taken."""
    from importlib.metadata import version as installed

    if version != installed("fhirpathpy"):
        return False
    _PARSED.append(lookup)
    return True


@lru_cache(maxsize=4096)
def parse(expression: str) -> dict[str, Any]:
    """fhirpathpy's AST of ``expression``. Raises :class:`InvariantSyntaxError` on a syntax error, on text after
    the expression, and on a function nobody implements (fhirpathpy's own parse lets all three pass)."""
    for lookup in _PARSED:
        known = lookup(expression)
        if known is not None:
            return known
    listener = _RaisingListener()
    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    tokens = CommonTokenStream(lexer)
    parser = FHIRPathParser(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    tree = parser.expression()
    if tokens.LA(1) != Token.EOF:
        raise InvariantSyntaxError(f"unexpected text after the expression: {tokens.LT(1).text!r}")
    ast_listener = ASTPathListener()
    ParseTreeWalker().walk(ast_listener, tree)
    ast: dict[str, Any] = ast_listener.parentStack[0]
    unknown = sorted(_function_names(ast, set()) - _BASE_REGISTRY.keys() - _SHIM_TABLE.keys())
    if unknown:
        raise InvariantSyntaxError(f"function not implemented: {', '.join(unknown)}")
    return ast


# --------------------------------------------------------------------------- the fhirpathpy shim


def _cx(ctx: Mapping[str, Any]) -> Context:
    return ctx[_STATE]  # type: ignore[no-any-return]


def _comparison(test: Callable[[int], bool]) -> Callable[[Any, list[Any], list[Any]], list[Any]]:
    def run(ctx: Any, a: list[Any], b: list[Any]) -> list[Any]:
        order = fm.compare(a, b)
        return [] if order is None else [test(order)]

    return run


def _logic(op: str) -> Callable[[Any, list[Any], list[Any]], list[Any]]:
    def run(ctx: Any, a: list[Any], b: list[Any]) -> list[Any]:
        lv, rv = fm.as_bool(a), fm.as_bool(b)
        if op == "and":
            return [False] if lv is False or rv is False else [True] if lv and rv else []
        if op == "or":
            return [True] if lv or rv else [False] if lv is False and rv is False else []
        if op == "implies":
            return [True] if lv is False or rv is True else [False] if lv is True and rv is False else []
        return [] if lv is None or rv is None else [lv != rv]

    return run


def _is(ctx: Any, coll: list[Any], spec: TypeInfo) -> list[Any]:
    return [len(coll) == 1 and fm.type_matches(coll[0], spec)] if coll else []


def _as(ctx: Any, coll: list[Any], spec: TypeInfo) -> list[Any]:
    return [item for item in coll if fm.type_matches(item, spec)]  # R4: no singleton rule (HL7 6.0.21)


def _not(ctx: Any, coll: list[Any]) -> list[Any]:
    value = fm.as_bool(coll)
    return [] if value is None else [not value]


_ANY2 = {2: ["Any", "Any"]}
_SHIM_TABLE: dict[str, dict[str, Any]] = {
    "hasValue": {"fn": lambda ctx, coll: [len(coll) == 1 and fm.has_value(coll[0])]},
    "getValue": {"fn": lambda ctx, coll: [util.get_data(coll[0])] if len(coll) == 1 and fm.has_value(coll[0]) else []},
    "resolve": {"fn": lambda ctx, coll: fm.resolve(coll, _cx(ctx))},
    "htmlChecks": {"fn": lambda ctx, coll: fm.html_check(coll, 0)},
    "htmlChecks1": {"fn": lambda ctx, coll: fm.html_check(coll, 0)},
    "htmlChecks2": {"fn": lambda ctx, coll: fm.html_check(coll, 1)},
    "memberOf": {"fn": lambda ctx, coll, url: fm.member_of(coll, url, _cx(ctx)), "arity": {1: ["String"]}},
    "conformsTo": {"fn": lambda ctx, coll, url: fm.conforms_to(coll, url, _cx(ctx)), "arity": {1: ["String"]}},
    "extension": {"fn": lambda ctx, coll, url: fm.extension(coll, url), "arity": {1: ["String"]}},
    "children": {"fn": lambda ctx, coll: [c for item in coll for c in fm.children(item)]},
    "descendants": {"fn": lambda ctx, coll: fm.descendants(coll)},
    "as": {"fn": _as, "arity": {1: ["TypeSpecifier"]}},
    "asOp": {"fn": _as, "arity": {2: ["Any", "TypeSpecifier"]}},
    "is": {"fn": _is, "arity": {1: ["TypeSpecifier"]}},
    "isOp": {"fn": _is, "arity": {2: ["Any", "TypeSpecifier"]}},
    "not": {"fn": _not},
    "|": {"fn": lambda ctx, a, b: fm.distinct([*a, *b]), "arity": _ANY2},
    "union": {"fn": lambda ctx, a, b: fm.distinct([*a, *b]), "arity": {1: ["AnyAtRoot"]}},
    "distinct": {"fn": lambda ctx, coll: fm.distinct(coll)},
    "isDistinct": {"fn": lambda ctx, coll: [len(fm.distinct(coll)) == len(coll)]},
    "<": {"fn": _comparison(lambda o: o < 0), "arity": _ANY2, "nullable": True},
    "<=": {"fn": _comparison(lambda o: o <= 0), "arity": _ANY2, "nullable": True},
    ">": {"fn": _comparison(lambda o: o > 0), "arity": _ANY2, "nullable": True},
    ">=": {"fn": _comparison(lambda o: o >= 0), "arity": _ANY2, "nullable": True},
    "and": {"fn": _logic("and"), "arity": _ANY2},
    "or": {"fn": _logic("or"), "arity": _ANY2},
    "xor": {"fn": _logic("xor"), "arity": _ANY2},
    "implies": {"fn": _logic("implies"), "arity": _ANY2},
}

_ORIGINAL_MEMBER = getattr(_EVALUATORS["MemberInvocation"], "__wrapped__", _EVALUATORS["MemberInvocation"])


def _member_invocation(ctx: dict[str, Any], parent: Any, tree: dict[str, Any]) -> list[Any]:
    """fhirpathpy's member access, except in our evaluations: one node per element instance (a primitive with its
    ``_x`` companion), and a leading type name that names the input (``Bundle.entry``) selects it."""
    if _STATE not in ctx:
        return _ORIGINAL_MEMBER(ctx, parent, tree)  # type: ignore[no-any-return]
    key = str(tree["children"][0]["text"]).replace("`", "")
    if not isinstance(parent, list):
        return []
    if util.is_capitalized(key):
        typed = [item for item in parent if fm.type_name(item) == key]
        if typed:
            return typed
    return [child for item in parent for child in fm.members(item, key)]


_member_invocation.__wrapped__ = _ORIGINAL_MEMBER  # type: ignore[attr-defined]  # a reload wraps the original
_EVALUATORS["MemberInvocation"] = _member_invocation


def _container(bundle: Mapping[str, Any], resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """The entry resource of ``bundle`` that is ``resource`` or contains it (HL7's root); else ``resource``."""
    for entry in bundle.get("entry") or ():
        found = entry.get("resource") if entry.__class__ is dict else None
        if found is resource:
            return resource
        if found.__class__ is dict and any(c is resource for c in found.get("contained") or ()):
            return found  # type: ignore[no-any-return]
    return resource


def _silent_trace(label: str, items: Any) -> None:
    """fhirpathpy prints every ``trace()`` unless given a callback, and invariants trace a lot."""


def run_fhirpathpy(ast: dict[str, Any], focus: Any, context: Context) -> list[Any]:
    """Evaluate a parsed expression with fhirpathpy and the shim (raises what fhirpathpy raises)."""
    _CONSTANTS.reset()
    previous, TypeInfo.model = TypeInfo.model, fm.MODEL  # fhirpathpy keeps its model in a class attribute
    ctx: dict[str, Any] = {
        "dataRoot": [focus],
        "vars": {
            "context": focus,
            "ucum": fm.UCUM,
            "resource": context.node("resource"),
            "rootResource": context.node("rootResource"),
        },
        "model": fm.MODEL,
        "userInvocationTable": _SHIM_TABLE,
        "traceFn": _silent_trace,
        _STATE: context,
    }
    try:
        result = do_eval(ctx, ctx["dataRoot"], ast["children"][0])
    finally:
        TypeInfo.model = previous
    return result if isinstance(result, list) else [result]


# --------------------------------------------------------------------------- the API


def _truth(result: list[Any]) -> bool:
    """HL7 ``convertToBoolean``: a single boolean is itself, anything else non-empty is true, empty is false."""
    if len(result) == 1:
        value = util.get_data(result[0])
        if value.__class__ is bool:
            return bool(value)
    return len(result) > 0


@dataclass(frozen=True, slots=True)
class Compiled:
    """A parsed invariant: the expression HL7 evaluates, fhirpathpy's AST, and the fast paths if it has them."""

    expression: str
    ast: dict[str, Any]
    native: Native | None
    fast: Fn | None


def _verdict(compiled: Compiled, focus: Any, context: Context) -> bool | str:
    """True, False, or why it could not be evaluated: the native, else the closures, else fhirpathpy."""
    if compiled.native is not None:
        verdict = compiled.native(focus, context)
        if verdict is not None:
            return verdict
    if compiled.fast is not None:
        try:
            return _truth(compiled.fast([focus], [focus], context))
        except Exception:  # Fallback, or an error: fhirpathpy decides, and words the error
            pass
    try:
        return _truth(run_fhirpathpy(compiled.ast, focus, context))
    except Exception as exc:  # fhirpathpy raises bare Exceptions (and TypeErrors, KeyErrors) for what it cannot do
        return f"{type(exc).__name__}: {exc}"


ResolveReference = Callable[[str], Mapping[str, Any] | None]
MemberOf = Callable[[str, Any], bool | None]
ConformsTo = Callable[[Any, str], bool | None]


class Invariants:
    """Evaluates constraint expressions on element instances (see the module docstring).

    ``resolve_reference(reference)`` is asked for references that are neither contained nor in the Bundle
    (default: unresolvable, so ``resolve()`` gives empty). ``member_of(valueset_url, value)`` decides
    ``memberOf()`` (value as JSON: a code string, a Coding or a CodeableConcept); None or no callback: empty.
    ``conforms_to(resource, profile_url)`` decides ``conformsTo()``; None or no callback: true.
    ``fast=False`` evaluates everything with fhirpathpy (the reference the fast paths are checked against)."""

    def __init__(
        self,
        resolve_reference: ResolveReference | None = None,
        member_of: MemberOf | None = None,
        conforms_to: ConformsTo | None = None,
        *,
        fast: bool = True,
    ) -> None:
        self.resolve_reference = resolve_reference
        self.member_of = member_of
        self.conforms_to = conforms_to
        self.fast = fast
        self._compiled: dict[str | tuple[str, str | None], Compiled] = {}
        self._bundle_index: tuple[Mapping[str, Any], dict[str, dict[str, Any]]] | None = None
        self._last_context: tuple[Mapping[str, Any], Mapping[str, Any], Context] | None = None

    def compile(self, expression: str, key: str | None = None) -> Compiled:
        """The parsed (once) expression HL7 evaluates for constraint ``key``; raises InvariantSyntaxError."""
        cache_key = (expression, key) if key in _FIXED_BY_KEY else expression
        compiled = self._compiled.get(cache_key)
        if compiled is None:
            fixed = fix_expression(expression, key)
            ast = parse(fixed)
            native = NATIVE.get(fixed) if self.fast else None
            compiled = Compiled(fixed, ast, native, compile_fast(ast) if self.fast else None)
            self._compiled[cache_key] = compiled
        return compiled

    def context(
        self,
        root: Mapping[str, Any],
        resource: Mapping[str, Any],
        *,
        bundle: Mapping[str, Any] | None = None,
        full_url: str | None = None,
    ) -> Context:
        """The evaluation context of the elements of ``resource`` (see the module docstring for the arguments).
        Given a Bundle as ``root``, the root becomes the entry resource that is or contains ``resource``."""
        if root.get("resourceType") == "Bundle" and root is not resource:
            bundle, root = bundle or root, _container(root, resource)
        elif bundle is None and resource.get("resourceType") == "Bundle":
            bundle = resource  # a Bundle's own rules resolve among its entries (HL7 does)
        return Context(
            resource,  # type: ignore[arg-type]
            root,  # type: ignore[arg-type]
            bundle,  # type: ignore[arg-type]
            full_url,
            self,
            self.member_of,
            self.conforms_to,
        )

    def judge(
        self,
        key: str,
        expression: str,
        focus: Any,
        type_code: str,
        resource: Mapping[str, Any],
        root: Mapping[str, Any],
        *,
        holder: Any = None,
        path: str | None = None,
    ) -> bool | str:
        """The validator's plug-in interface (``validator.InvariantEvaluator``): True when the invariant holds on
        the element value ``focus`` of type ``type_code``, False when it fails, a message when it cannot be
        evaluated. ``root`` is the resource being validated (a Bundle for its entries). Pass a primitive's ``_x``
        object as ``holder`` (else a primitive with only extensions fails ele-1) and, for a BackboneElement or
        Element, the element ``path`` (else its children are typed by their names only)."""
        if focus.__class__ is str and expression == _ELE_1:
            return True  # ele-1 on a primitive with a value ("" too, for HL7 6.0.21): a third of all evaluations
        try:
            compiled = self.compile(expression, key)
        except InvariantSyntaxError as exc:
            return f"invalid expression: {exc}"
        last = self._last_context
        if last is not None and last[0] is resource and last[1] is root:
            context = last[2]
        else:
            context = self.context(root, resource)
            self._last_context = (resource, root, context)
        if type_code in ("BackboneElement", "Element") and path:
            type_code = path
        elif "/" in type_code:
            type_code = type_code.rsplit("/", 1)[-1]  # R4 ids: http://hl7.org/fhirpath/System.String
        return _verdict(compiled, node(focus, holder, type_code), context)

    def check(self, compiled: Compiled, focus: Any, context: Context) -> Outcome:
        """Evaluate a compiled invariant on a focus node. Never raises: what cannot be evaluated is an error."""
        verdict = _verdict(compiled, focus, context)
        return Outcome(verdict) if verdict.__class__ is bool else Outcome(False, verdict)  # type: ignore[arg-type]

    def evaluate(
        self,
        expression: str,
        root: Mapping[str, Any],
        resource: Mapping[str, Any],
        focus_path: Sequence[str | int],
        focus_type: str | None = None,
        *,
        key: str | None = None,
        bundle: Mapping[str, Any] | None = None,
        full_url: str | None = None,
    ) -> Outcome:
        """Evaluate one invariant on the element at ``focus_path`` (JSON keys and list indexes) in ``resource``;
        ``key`` is the constraint's key (HL7 fixes some expressions by key). Never raises."""
        try:
            compiled = self.compile(expression, key)
        except InvariantSyntaxError as exc:
            return Outcome(False, f"invalid expression: {exc}")
        try:
            focus = focus_node(resource, focus_path, focus_type)  # type: ignore[arg-type]
        except (LookupError, TypeError) as exc:
            return Outcome(False, f"no element at the focus path: {exc}")
        return self.check(compiled, focus, self.context(root, resource, bundle=bundle, full_url=full_url))

    # ----------------------------------------------------------------------- resolve()

    def resolve(self, reference: str, context: Context) -> dict[str, Any] | None:
        """The resource ``reference`` points at: ``#id`` among the root's contained resources; in the Bundle by
        fullUrl, or ``Type/id`` relative to the entry's fullUrl base, or by type and id (HL7's
        ``resolveInBundle``); else the ``resolve_reference`` callback. None when unresolvable."""
        if reference.startswith("#"):
            for contained in context.root.get("contained") or ():
                if contained.__class__ is dict and contained.get("id") == reference[1:]:
                    return contained  # type: ignore[no-any-return]
            return None
        if context.bundle is not None:
            found = self._in_bundle(reference, context)
            if found is not None:
                return found
        found = self.resolve_reference(reference) if self.resolve_reference else None
        return dict(found) if found is not None and found.__class__ is not dict else found  # type: ignore[return-value]

    def _in_bundle(self, reference: str, context: Context) -> dict[str, Any] | None:
        bundle = context.bundle
        assert bundle is not None
        index = self._index(bundle)
        reference = re.sub(r"/_history/[^/]*$", "", reference)
        if reference in index:
            return index[reference]
        if re.match(r"^[a-z][a-z0-9+.-]*:", reference, re.IGNORECASE):
            return None  # absolute: by fullUrl only
        full_url = context.full_url
        if full_url is None:
            for entry in bundle.get("entry") or ():
                if entry.__class__ is dict and entry.get("resource") in (context.resource, context.root):
                    full_url = entry.get("fullUrl") if entry.get("fullUrl").__class__ is str else None
                    break
        own = context.root
        if full_url and own.get("id").__class__ is str:
            tail = f"{own.get('resourceType')}/{own.get('id')}"
            if full_url.endswith(tail):
                found = index.get(full_url[: -len(tail)] + reference)
                if found is not None:
                    return found
        return index.get(f"\0{reference}")

    def _index(self, bundle: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """fullUrl -> resource and (NUL-prefixed) Type/id -> resource, for the last Bundle asked about."""
        if self._bundle_index is not None and self._bundle_index[0] is bundle:
            return self._bundle_index[1]
        index: dict[str, dict[str, Any]] = {}
        for entry in bundle.get("entry") or ():
            resource = entry.get("resource") if entry.__class__ is dict else None
            if resource.__class__ is not dict:
                continue
            if entry.get("fullUrl").__class__ is str:
                index.setdefault(entry["fullUrl"], resource)
            if resource.get("id").__class__ is str:
                index.setdefault(f"\0{resource.get('resourceType')}/{resource['id']}", resource)
        self._bundle_index = (bundle, index)
        return index
