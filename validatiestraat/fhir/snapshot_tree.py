"""The element tree snapshot generation works on (a part of :mod:`validatiestraat.fhir.snapshot`).

A snapshot is a flat list of element definitions in a fixed order: an element, then its children (each followed by
its own subtree), then its slices (each with its subtree). Generation is easier on the tree that order encodes:
:class:`Node` holds one element definition, its children and its slices. Trees of finished snapshots are kept as
*templates*; a profile's tree is made by copying a template (:func:`instantiate`), renaming the ids and paths to
where the copy goes. Element dicts are copied shallowly: the generator never changes a nested value in place, it
replaces it, so templates (and the packages' own snapshots) stay untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Element = dict[str, Any]


class SnapshotError(Exception):
    """A snapshot cannot be generated (the message says which element and why)."""


@dataclass(slots=True, eq=False)
class Node:
    """One element definition with its children (``None``: not expanded yet) and slices; ``template`` is the node
    it was copied from, which is the element as the base defines it, before this profile's differential."""

    el: Element
    children: list[Node] | None = None
    slices: list[Node] = field(default_factory=list)
    template: Node | None = None

    @property
    def id(self) -> str:
        return str(self.el.get("id") or self.el.get("path"))

    @property
    def path(self) -> str:
        return str(self.el.get("path"))

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


def split_id(element_id: str, path: str) -> list[tuple[str, str | None]]:
    """The steps of an element id: one (name, slice name or None) per segment of its path.

    Slice names may hold dots, so the id is read along the path's names rather than split on dots."""
    names = path.split(".")
    steps: list[tuple[str, str | None]] = []
    pos = 0
    for i, name in enumerate(names):
        if not element_id.startswith(name, pos):
            raise SnapshotError(f"element id {element_id!r} does not match its path {path!r}")
        pos += len(name)
        slice_name: str | None = None
        if pos < len(element_id) and element_id[pos] == ":":
            end = len(element_id)
            if i + 1 < len(names):
                end = _next_step(element_id, pos, names[i + 1])
            slice_name = element_id[pos + 1 : end]
            pos = end
        steps.append((name, slice_name))
        if i + 1 < len(names):
            if pos >= len(element_id) or element_id[pos] != ".":
                raise SnapshotError(f"element id {element_id!r} does not match its path {path!r}")
            pos += 1
    if pos != len(element_id):
        raise SnapshotError(f"element id {element_id!r} does not match its path {path!r}")
    return steps


def _next_step(element_id: str, start: int, name: str) -> int:
    """Where the slice name that starts at ``start`` ends: before the first ``.name`` that ends a step."""
    probe = "." + name
    at = element_id.find(probe, start)
    while at >= 0:
        after = at + len(probe)
        if after == len(element_id) or element_id[after] in ".:":
            return at
        at = element_id.find(probe, at + 1)
    raise SnapshotError(f"element id {element_id!r}: cannot find the step {name!r}")


def build(elements: list[Element]) -> tuple[Node, dict[str, Node]]:
    """The tree of a snapshot's elements, and its nodes by id."""
    if not elements:
        raise SnapshotError("the snapshot has no elements")
    root = Node(elements[0], [])
    by_id = {root.id: root}
    for el in elements[1:]:
        node = Node(el, [])
        element_id = node.id
        steps = split_id(element_id, node.path)
        name, slice_name = steps[-1]
        if slice_name is not None:
            owner = by_id.get(element_id[: len(element_id) - len(slice_name) - 1])
            if owner is None:
                raise SnapshotError(f"snapshot element {element_id!r} comes before the element it slices")
            owner.slices.append(node)
        else:
            owner = by_id.get(element_id[: len(element_id) - len(name) - 1])
            if owner is None or owner.children is None:
                raise SnapshotError(f"snapshot element {element_id!r} comes before its parent")
            owner.children.append(node)
        by_id[element_id] = node
    return root, by_id


def instantiate(template: Node, new_id: str, new_path: str, with_slices: bool = True) -> Node:
    """A copy of ``template``'s subtree whose ids start with ``new_id`` and paths with ``new_path``."""
    old_id, old_path = template.id, template.path
    return _copy(template, old_id, new_id, old_path, new_path, with_slices)


def _copy(tpl: Node, old_id: str, new_id: str, old_path: str, new_path: str, with_slices: bool) -> Node:
    el = dict(tpl.el)
    if old_id != new_id or old_path != new_path:
        el["id"] = new_id + tpl.id[len(old_id) :]
        el["path"] = new_path + tpl.path[len(old_path) :]
    node = Node(el, None, [], tpl)
    if tpl.children:
        node.children = [_copy(c, old_id, new_id, old_path, new_path, True) for c in tpl.children]
    if with_slices and tpl.slices:
        node.slices = [_copy(s, old_id, new_id, old_path, new_path, True) for s in tpl.slices]
    return node


def flatten(node: Node, out: list[Element] | None = None) -> list[Element]:
    """The snapshot order: the element, its children's subtrees, then its slices' subtrees."""
    if out is None:
        out = []
    out.append(node.el)
    for child in node.children or ():
        flatten(child, out)
    for slice_ in node.slices:
        flatten(slice_, out)
    return out
