"""Pytrees: nested tuples, lists, dicts and namedtuples with tensors (or anything else) at the leaves.

The transforms flatten their inputs and outputs to a list of leaves plus a :class:`TreeSpec` that rebuilds
the containers, do their work on the flat list, and unflatten the results into the caller's structure, as
``torch.utils._pytree`` does. Both directions use an explicit stack, so deep nesting needs no recursion.

Example::

    >>> leaves, spec = tree_flatten({"w": (a, b), "c": [d]})
    >>> leaves
    [a, b, d]
    >>> tree_unflatten([2 * t for t in leaves], spec)
    {'w': (2 * a, 2 * b), 'c': [2 * d]}
"""

from __future__ import annotations

__all__ = ["TreeSpec", "LeafSpec", "tree_flatten", "tree_unflatten", "tree_leaves", "tree_map"]


def _children(node) -> tuple | None:
    """``(children, context)`` of a container node, or None for a leaf."""
    if isinstance(node, dict):
        keys = list(node)
        return [node[k] for k in keys], keys
    if isinstance(node, (tuple, list)):
        return list(node), None
    return None


_BRACKETS = {tuple: ("(", ")"), list: ("[", "]"), dict: ("{", "}")}


class TreeSpec:
    """A pytree's structure without its leaves: container type, context (dict keys) and children's specs."""

    __slots__ = ("type", "context", "children", "num_leaves")

    def __init__(self, type_, context, children: list):
        self.type = type_
        self.context = context
        self.children = children
        self.num_leaves = 1 if type_ is None else 0

    def is_leaf(self) -> bool:
        return self.type is None

    def _build(self, values: list):
        if issubclass(self.type, dict):
            return self.type(zip(self.context, values, strict=True))
        if issubclass(self.type, tuple) and hasattr(self.type, "_fields"):  # a namedtuple
            return self.type(*values)
        return self.type(values)

    def _key(self) -> tuple:
        """A flat, hashable description (pre-order), so specs compare without recursion."""
        key, stack = [], [self]
        while stack:
            spec = stack.pop()
            key.append((spec.type, None if spec.context is None else tuple(spec.context), len(spec.children)))
            stack.extend(reversed(spec.children))
        return tuple(key)

    def __eq__(self, other) -> bool:
        return isinstance(other, TreeSpec) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        """The structure with ``*`` for leaves, e.g. ``({'a': *}, [*, *])``."""
        out, stack = [], [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            if item.is_leaf():
                out.append("*")
                continue
            opening, closing = _BRACKETS.get(item.type, (item.type.__name__ + "(", ")"))
            out.append(opening)
            stack.append(closing)
            labels = [""] * len(item.children) if item.context is None else [f"{k!r}: " for k in item.context]
            for i in reversed(range(len(item.children))):
                stack.append(item.children[i])
                stack.append(labels[i] if i == 0 else ", " + labels[i])
        return "".join(out)


def LeafSpec() -> TreeSpec:  # noqa: N802  (torch's name)
    return TreeSpec(None, None, [])


def tree_flatten(tree) -> tuple[list, TreeSpec]:
    """``(leaves, spec)``: the leaves in depth-first, left-to-right order, and the structure holding them."""
    leaves: list = []
    root: list = []
    stack = [(tree, root)]
    specs = []
    while stack:
        node, siblings = stack.pop()
        split = _children(node)
        if split is None:
            leaves.append(node)
            siblings.append(LeafSpec())
            continue
        children, context = split
        spec = TreeSpec(type(node), context, [])
        siblings.append(spec)
        specs.append(spec)
        stack.extend((child, spec.children) for child in reversed(children))
    for spec in reversed(specs):  # pre-order reversed: children are counted before their parents
        spec.num_leaves = sum(c.num_leaves for c in spec.children)
    return leaves, root[0]


def tree_unflatten(leaves, spec: TreeSpec):
    """Rebuild the pytree described by ``spec`` with ``leaves`` in place of its leaves."""
    leaves = list(leaves)
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"tree_unflatten: the spec has {spec.num_leaves} leaves but {len(leaves)} values "
                         "were given")
    it = iter(leaves)
    if spec.is_leaf():
        return next(it)
    stack = [(spec, [])]
    while True:
        node, built = stack[-1]
        if len(built) < len(node.children):
            child = node.children[len(built)]
            if child.is_leaf():
                built.append(next(it))
            else:
                stack.append((child, []))
            continue
        value = node._build(built)
        stack.pop()
        if not stack:
            return value
        stack[-1][1].append(value)


def tree_leaves(tree) -> list:
    """The leaves of ``tree``, in flattening order."""
    return tree_flatten(tree)[0]


def tree_map(fn, tree):
    """The same structure with ``fn(leaf)`` at each leaf."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)
