"""Snapshots for StructureDefinitions that carry only a differential (FHIR R4 profiling.html, elementdefinition.html).

The Nictiz packages ship differentials; validation needs snapshots: every element of the type, as the profile
constrains it. A snapshot is the base definition's snapshot with the differential laid over it:

- each differential element names its target by id (``Patient.identifier:bsn.system``): the generator walks there
  in the base's element tree, and where the base stops (a datatype it did not constrain, a slice it did not dive
  into) it expands the element from its type: the type profile's snapshot when the type names one profile, the
  core datatype's otherwise, the referenced element's children for a ``contentReference``;
- a slice the base does not have is made from the element it slices as the base defines it (not as this
  differential changes it), with ``sliceName`` set and no ``slicing``; the slice of a repeating element starts at
  min 0 (the base's minimum counts all repetitions, not those of one slice), a type slice of a choice keeps the
  choice's min;
- slicing an extension without saying how gets the standard slicing (by ``url``, open); type slices of a choice
  that the differential makes without restating the choice element (``value[x]:valueQuantity`` alone, or the
  type-specific name ``valueQuantity``) restrict the choice to their types; type slices that cover every type of
  the choice leave no room for other content, so their slicing is closed;
- an element whose type the differential sets to one profile takes that profile's root constraints first (not for
  ``Reference``: HL7 6.0.21 never copies ``ref-1`` from a reference profile's root, and the snapshots here agree
  with it); a new extension slice of an element the base had not sliced takes the extension definition's root
  cardinality, a slice added to an existing extension slicing keeps the sliced element's (as HL7 6.0.21 does);
- a type the differential narrows to types that cannot be bound (``Reference``) loses the binding (eld-11);
- a specialization (a logical model) puts the base's content under the new type's name and adds the new elements;
- the values are merged by :mod:`validatiestraat.fhir.snapshot_merge`.

What does not stop generation is reported in ``messages``: a min below the base's, slices whose minimums add up to
more than the sliced element's, a differential out of snapshot order (which HL7 6.0.21 skips), a constraint on the
content of a ``Resource``-typed element (which HL7 6.0.21 cannot follow), a type profile that is not available.

Generation is recursive: base definitions and type profiles get their snapshots first. The trees of finished
snapshots are kept (``trees``) so that each is parsed once; generating the whole MP9 chain takes well under a second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from validatiestraat.fhir.snapshot_merge import apply_differential, merge_constraints
from validatiestraat.fhir.snapshot_tree import (
    Element,
    Node,
    SnapshotError,
    build,
    flatten,
    instantiate,
    split_id,
)

__all__ = ["SnapshotError", "generate", "with_snapshot"]

CORE = "http://hl7.org/fhir/StructureDefinition/"
EXTENSION_SLICING = {"discriminator": [{"type": "value", "path": "url"}], "ordered": False, "rules": "open"}
#: the types a binding can apply to (ElementDefinition invariant eld-11)
BINDABLE = frozenset({"code", "Coding", "CodeableConcept", "Quantity", "string", "uri"})
TYPE_SLICING = {"discriminator": [{"type": "type", "path": "$this"}], "ordered": False, "rules": "open"}

Fetch = Callable[[str], dict[str, Any] | None]
Trees = dict[str, tuple[dict[str, Any], Node, dict[str, Node]]]


def _has_snapshot(sd: dict[str, Any] | None) -> bool:
    return bool(sd and (sd.get("snapshot") or {}).get("element"))


def _repeats(el: Element) -> bool:
    base_max = (el.get("base") or {}).get("max")
    return el.get("max") not in ("0", "1") or base_max not in (None, "0", "1")


def _min(el: Element) -> int:
    value = el.get("min")
    return value if isinstance(value, int) else 0


class _Generator:
    """One profile's generation: the tree being built, and the definitions it reads."""

    def __init__(self, profile: dict[str, Any], fetch: Fetch, messages: list[str], trees: Trees) -> None:
        self.profile = profile
        self.fetch = fetch
        self.messages = messages
        self.trees = trees
        self.implicit_choices: list[Node] = []  # choices sliced by their type-specific names
        self.sliced: list[Node] = []  # elements this differential sliced or re-sliced
        self.diff_ids: set[str] = set()
        self.newly_sliced: set[str] = set()  # ids of new slices of elements the base had not sliced
        self.base: dict[str, Any] = {}
        self.specializing = False

    # ------------------------------------------------------------------ definitions

    def template(self, sd: dict[str, Any]) -> tuple[Node, dict[str, Node]]:
        """The (memoized) tree of a definition's snapshot; relative content references made absolute."""
        url = str(sd.get("url"))
        kept = self.trees.get(url)
        if kept is not None and kept[0] is sd:
            return kept[1], kept[2]
        elements = []
        for el in sd["snapshot"]["element"]:
            ref = el.get("contentReference")
            if isinstance(ref, str) and ref.startswith("#"):
                el = {**el, "contentReference": url + ref}
            elements.append(el)
        root, by_id = build(elements)
        self.trees[url] = (sd, root, by_id)
        return root, by_id

    def definition(self, url: str, why: str) -> dict[str, Any]:
        sd = self.fetch(url)
        if not _has_snapshot(sd):
            raise SnapshotError(f"{why}: {url} not found" if sd is None else f"{why}: {url} has no snapshot")
        assert sd is not None
        return sd

    def type_profile(self, url: str) -> dict[str, Any] | None:
        """A type profile's definition, or None (said in the messages) when it cannot be had: a profile that is
        (indirectly) its own type profile, or one that cannot be generated, leaves the element as the base has it."""
        try:
            return self.fetch(url)
        except SnapshotError as exc:
            self.messages.append(f"the type profile {url} is not usable: {exc}")
            return None

    # ------------------------------------------------------------------ the walk

    def children(self, node: Node, diff_id: str) -> list[Node]:
        """The children of ``node``, expanded from its type or content reference when the base has none."""
        if node.children:
            return node.children
        el = node.el
        ref = el.get("contentReference")
        if isinstance(ref, str) and ref:
            url, _, target = ref.partition("#")
            sd = self.definition(url, f"{diff_id}: the content reference {ref}") if url else self.base
            _, by_id = self.template(sd)
            source = by_id.get(target)
            if source is None:
                raise SnapshotError(f"{diff_id}: the content reference {ref} names no element")
            el.pop("contentReference", None)
            if source.el.get("type"):
                el["type"] = source.el["type"]
        else:
            source = self.type_root(node, diff_id)
            if any(t.get("code") == "Resource" for t in el.get("type") or ()):
                profiles = [p for t in el.get("type") or () for p in t.get("profile") or ()]
                self.messages.append(
                    f"{diff_id}: constrains the content of the Resource-typed {node.id} "
                    f"as its type profile {' '.join(profiles) or source.path} defines it (HL7 6.0.21 does not)"
                )
        node.children = [
            instantiate(c, node.id + c.id[len(source.id) :], node.path + c.path[len(source.path) :])
            for c in source.children or ()
        ]
        if not node.children:
            raise SnapshotError(f"{diff_id}: {node.id} has no children to constrain")
        return node.children

    def type_root(self, node: Node, diff_id: str) -> Node:
        types = node.el.get("type") or []
        codes = {t.get("code") for t in types}
        if len(codes) != 1:
            raise SnapshotError(f"{diff_id}: cannot step into {node.id}, which has {len(codes)} types")
        code = str(next(iter(codes)))
        profiles = (types[0].get("profile") or []) if len(types) == 1 else []
        if len(profiles) == 1:
            sd = self.type_profile(profiles[0])
            if _has_snapshot(sd):
                assert sd is not None
                return self.template(sd)[0]
            self.messages.append(f"{node.id}: the type profile {profiles[0]} is not available; using {code}")
        url = code if ":" in code else CORE + code
        return self.template(self.definition(url, f"{diff_id}: the type of {node.id}"))[0]

    def slice(self, slicer: Node, name: str, diff_id: str) -> Node:
        """The slice ``name`` of ``slicer``; made from the base's (unconstrained) ``slicer`` when it is new."""
        for s in slicer.slices:
            if s.el.get("sliceName") == name:
                return s
        if not _repeats(slicer.el) and not slicer.path.endswith("[x]"):
            raise SnapshotError(f"{diff_id}: {slicer.id} does not repeat, so it cannot be sliced")
        made_id = f"{slicer.id}:{name}"
        template = slicer.template or slicer
        if not template.el.get("slicing"):
            self.newly_sliced.add(made_id)
        if not slicer.el.get("slicing"):
            codes = [t.get("code") for t in slicer.el.get("type") or ()]
            if codes == ["Extension"]:
                slicer.el["slicing"] = dict(EXTENSION_SLICING)
            elif slicer.path.endswith("[x]"):
                slicer.el["slicing"] = dict(TYPE_SLICING)
            else:
                self.messages.append(f"{diff_id}: the slice {name} is defined without slicing on {slicer.id}")
        made = instantiate(template, made_id, slicer.path, with_slices=False)
        made.el["sliceName"] = name
        made.el.pop("slicing", None)
        if _repeats(slicer.el):
            made.el["min"] = 0  # the base minimum counts all repetitions together, not those of one slice
        slicer.slices.append(made)
        if slicer not in self.sliced:
            self.sliced.append(slicer)
        return made

    def locate(self, root: Node, diff: Element) -> Node:
        diff_id = str(diff.get("id") or diff.get("path"))
        steps = split_id(diff_id, str(diff.get("path") or diff_id))
        if steps[0] != (root.name, None):
            raise SnapshotError(f"{diff_id}: the differential is not on {root.name}")
        node = root
        for name, slice_name in steps[1:]:
            kids = self.children(node, diff_id)
            child = next((c for c in kids if c.name == name), None)
            if child is None and self.specializing and slice_name is None:
                node = self.new_element(node, kids, name, diff)
                continue
            if child is None:
                child, type_entry = self.choice(kids, name, diff_id)
                if slice_name is None:  # the type-specific name: a type slice restricting the choice
                    known = any(s.el.get("sliceName") == name for s in child.slices)
                    node = self.slice(child, name, diff_id)
                    if not known:
                        node.el["type"] = [type_entry]
                    self.restrict_choice(child)
                    continue
            if slice_name is not None and child.path.endswith("[x]") and child.id not in self.diff_ids:
                self.restrict_choice(child)  # type slices without the choice element: restricted to them
            node = self.slice(child, slice_name, diff_id) if slice_name is not None else child
        return node

    def new_element(self, parent: Node, kids: list[Node], name: str, diff: Element) -> Node:
        """An element a specialization (a logical model) adds: defined by its differential alone."""
        path = f"{parent.path}.{name}"
        el: Element = {"id": f"{parent.id}.{name}", "path": path}
        el["base"] = {"path": path, "min": diff.get("min", 0), "max": diff.get("max", "*")}
        node = Node(el, [], [], None)
        kids.append(node)
        return node

    def restrict_choice(self, choice: Node) -> None:
        if choice not in self.implicit_choices:
            self.implicit_choices.append(choice)

    def choice(self, kids: list[Node], name: str, diff_id: str) -> tuple[Node, dict[str, Any]]:
        """The choice element ``name`` is a type-specific name of (``valueQuantity``: ``value[x]``), and the type."""
        for c in kids:
            if c.name.endswith("[x]") and name.startswith(c.name[:-3]):
                wanted = name[len(c.name) - 3 :]
                for t in c.el.get("type") or ():
                    code = str(t.get("code", ""))
                    if code[:1].upper() + code[1:] == wanted:
                        return c, t
        raise SnapshotError(f"{diff_id}: no element {name!r} in the base (no match found in the snapshot)")

    # ------------------------------------------------------------------ applying

    def apply(self, node: Node, diff: Element) -> None:
        el = node.el
        types = diff.get("type")
        if isinstance(types, list) and len(types) == 1 and len(types[0].get("profile") or []) == 1:
            sd = self.type_profile(types[0]["profile"][0])
            if _has_snapshot(sd) and types[0].get("code") != "Reference":
                assert sd is not None
                root = self.template(sd)[0].el
                el["constraint"] = merge_constraints(root.get("constraint") or [], el.get("constraint") or [])
                if types[0].get("code") == "Extension" and node.id in self.newly_sliced:
                    el["min"], el["max"] = root.get("min", el.get("min")), root.get("max", el.get("max"))
        base_min = _min(node.template.el) if node.template is not None and not el.get("sliceName") else 0
        apply_differential(el, diff)
        if "type" in diff and el.get("binding") and not any(t.get("code") in BINDABLE for t in el.get("type") or ()):
            del el["binding"]  # a binding applies to coded values only (eld-11)
        if "min" in diff and _min(el) < base_min:
            self.messages.append(f"{node.id}: derived min ({_min(el)}) cannot be less than the base min ({base_min})")

    def finish(self, root: Node) -> None:
        for choice in self.implicit_choices:
            codes = {t.get("code") for s in choice.slices for t in s.el.get("type") or ()}
            kept = [str(t.get("code")) for t in choice.el.get("type") or () if t.get("code") in codes]
            choice.el["type"] = [{"code": code} for code in dict.fromkeys(kept)]
        self._close_type_slicing(root)
        for slicer in self.sliced:
            total = sum(_min(s.el) for s in slicer.slices)
            if total > _min(slicer.el):
                self.messages.append(
                    f"The slice definition for {slicer.id} has a minimum of {_min(slicer.el)} "
                    f"but the slices add up to a minimum of {total}"
                )

    def _close_type_slicing(self, node: Node) -> None:
        """Type slices that together allow every type of the choice leave nothing for an open slicing."""
        slicing = node.el.get("slicing")
        if slicing and node.slices and node.path.endswith("[x]") and slicing.get("rules") != "closed":
            discriminators = slicing.get("discriminator") or []
            if [(d.get("type"), d.get("path")) for d in discriminators] == [("type", "$this")]:
                covered = {t.get("code") for s in node.slices for t in s.el.get("type") or ()}
                if {t.get("code") for t in node.el.get("type") or ()} <= covered:
                    node.el["slicing"] = {**slicing, "rules": "closed"}
        for child in node.children or ():
            self._close_type_slicing(child)
        for s in node.slices:
            self._close_type_slicing(s)

    def run(self) -> dict[str, Any]:
        profile = self.profile
        base_url = profile.get("baseDefinition")
        if not isinstance(base_url, str) or not base_url:
            raise SnapshotError(f"{profile.get('url')}: no baseDefinition")
        self.base = self.definition(base_url, f"{profile.get('url')}: the base definition")
        base_root, _ = self.template(self.base)
        differential = (profile.get("differential") or {}).get("element") or []
        self.specializing = profile.get("derivation") == "specialization"
        if self.specializing and differential:  # a new type: the base's content under the new type's name
            name = str(differential[0].get("path") or "").split(".", 1)[0] or base_root.path
            root = instantiate(base_root, name, name)
            root.el["base"] = {"path": name, "min": 0, "max": "*"}
        else:
            root = instantiate(base_root, base_root.id, base_root.path)
        self.diff_ids = {str(d.get("id") or d.get("path")) for d in differential}
        applied: list[tuple[str, Node]] = []
        for diff in differential:
            node = root if diff.get("path") == root.path and ":" not in str(diff.get("id", "")) else None
            node = node or self.locate(root, diff)
            self.apply(node, diff)
            applied.append((str(diff.get("id") or diff.get("path")), node))
        self.finish(root)
        elements = flatten(root)
        self.check_order(applied, elements)
        out = dict(profile)
        out["snapshot"] = {"element": elements}
        return out

    def check_order(self, applied: list[tuple[str, Node]], elements: list[Element]) -> None:
        """A differential lists its elements in snapshot order (profiling.html); this generator finds each by its
        id and does not need the order, but other tools (HL7's) skip what comes out of order: said once."""
        position = {id(el): i for i, el in enumerate(elements)}
        last, last_id = -1, ""
        for diff_id, node in applied:
            at = position.get(id(node.el), -1)
            if at < last:
                self.messages.append(f"the differential is not in snapshot order: {diff_id} comes after {last_id}")
                return
            last, last_id = at, diff_id


def generate(
    profile: dict[str, Any],
    fetch: Fetch,
    messages: list[str] | None = None,
    trees: Trees | None = None,
) -> dict[str, Any]:
    """A copy of ``profile`` with a snapshot made from its differential over its base definition's snapshot.

    ``fetch(url)`` returns a StructureDefinition with a snapshot (the base, type profiles, datatypes) or None.
    Problems that do not stop generation are appended to ``messages``; a differential that cannot be applied
    raises :class:`SnapshotError`."""
    return _Generator(profile, fetch, messages if messages is not None else [], {} if trees is None else trees).run()


def with_snapshot(url: str, packages: Any, cache: dict[str, Any]) -> dict[str, Any] | None:
    """The StructureDefinition ``url`` of ``packages`` with a snapshot: its own when it has one, generated (with its
    base definitions and type profiles, recursively) otherwise; None when it is unknown or cannot be generated.

    ``cache`` keeps the results between calls; ``cache["errors"][url]`` says why one could not be generated and
    ``cache["messages"][url]`` lists the problems found while generating it."""
    done: dict[str, dict[str, Any] | None] = cache.setdefault("snapshots", {})
    if url in done:
        return done[url]
    sd = packages.get(url)
    if not isinstance(sd, dict) or sd.get("resourceType", "StructureDefinition") != "StructureDefinition":
        done[url] = None
        return None
    if _has_snapshot(sd):
        done[url] = sd
        return sd
    busy: set[str] = cache.setdefault("busy", set())
    if url in busy:
        raise SnapshotError(f"{url} is (indirectly) its own base or type profile")
    busy.add(url)
    messages: list[str] = []
    made: dict[str, Any] | None = None
    try:
        made = generate(sd, lambda u: with_snapshot(u, packages, cache), messages, cache.setdefault("trees", {}))
    except SnapshotError as exc:
        cache.setdefault("errors", {})[url] = str(exc)
    finally:
        busy.discard(url)
    if messages:
        cache.setdefault("messages", {})[url] = messages
    done[url] = made
    return made
