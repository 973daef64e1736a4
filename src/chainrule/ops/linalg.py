"""Linear algebra: matrix products, einsum, inverse, log-determinants and linear solves.

Products reduce to two primitives (``matmul`` and ``einsum``); ``mm``, ``bmm``, ``dot``, ``outer``, the
``add*`` products, ``inner`` and ``trace`` are checked composites of them. The factorisation-based ops
(inverse, slogdet, solve) are primitives whose rules are written with each other (the inverse's VJP is two
matmuls, slogdet's uses the inverse, ...), so they differentiate again; triangular solves, matrix powers and
the tensor forms are composites. ``det`` and the decompositions live in :mod:`chainrule.ops.decomp`;
``chainrule.linalg`` exposes the ``linalg.*`` functions under torch's names.
"""

from __future__ import annotations

import string
import warnings
from typing import NamedTuple

from .. import _dtype
from .._backend import as_array, xp
from ..tensor import Tensor, _normalize_dim, _wrap
from ._primitive import Param, Primitive, align, apply, batch_elementwise, exports, public, records_nothing
from .cast import cast_to, promote
from .inplace import inplace_method
from .shape import broadcast_to, movedim, reshape, squeeze, sum_to, transpose, tril, triu, unsqueeze


def _tensor_arg(op: str, name: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(value).__name__}")
    return value


# -- matrix products ---------------------------------------------------------------------------------

class MatMul(Primitive):
    """``x @ y`` for 1-D, 2-D and batched (broadcasting) operands, as ``numpy.matmul``."""

    name = "matmul"
    may_warn = True
    inputs = ("x", "y")
    doc = "The matrix product ``x @ y`` (vectors, matrices and broadcasting batches of matrices)."
    expression = "{x} @ {y}"
    gate = "matmul: the gradient is an implicit matrix product, never a Jacobian"
    methods = ("matmul",)
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y):
        return x @ y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx.inputs
        need_x, need_y = ctx.next[0] is not None, ctx.next[1] is not None
        if x._data.ndim == 2 and y._data.ndim == 2:
            need, transposed = (need_x, need_y), (_transposed(x), _transposed(y))
            if records_nothing(g):
                # NOTE: nothing records, so the same products are taken on the arrays, without dispatching ops
                gx, gy = _matrix_gradients(g._data, x._data, y._data, need, transposed, _array_product,
                                           _array_transpose)
                return None if gx is None else _wrap(gx), None if gy is None else _wrap(gy)
            return _matrix_gradients(g, x, y, need, transposed, matmul, _transpose_matrix)
        if x.ndim == 1 and y.ndim == 1:
            return g * y if need_x else None, g * x if need_y else None
        # NOTE: lift 1-D operands to matrices so one rule covers every case, then drop the lifted axes.
        x2 = reshape(x, (1, -1)) if x.ndim == 1 else x
        y2 = reshape(y, (-1, 1)) if y.ndim == 1 else y
        g2 = g
        if x.ndim == 1:
            g2 = g2.unsqueeze(-2)
        if y.ndim == 1:
            g2 = g2.unsqueeze(-1)
        gx = gy = None
        if need_x:
            gx = reshape(sum_to(matmul(g2, transpose(y2, -1, -2)), x2._data.shape), x._data.shape)
        if need_y:
            gy = reshape(sum_to(matmul(transpose(x2, -1, -2), g2), y2._data.shape), y._data.shape)
        return gx, gy

    @staticmethod
    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return matmul(x_t, y) + matmul(x, y_t)

    @classmethod
    def gradient_code(cls, params: dict, shapes: tuple) -> tuple | None:
        if len(shapes[0]) == 2 and len(shapes[1]) == 2:
            return ("{g} @ {y}.T", "{x}.T @ {g}")
        return None

    @staticmethod
    def batch_rule(inputs, batched, params):
        # NOTE: a vector becomes a matrix (a row on the left, a column on the right), so that the batch dim is
        # never read as a matrix dim; the lifted dims are dropped from the product.
        (x, y), (bx, by) = inputs, batched
        # NOTE: batched rows (vectors or matrices) against one shared matrix are one matrix product over all the
        # rows (one GEMM, bitwise the unbatched product of those rows) rather than a loop of per-sample products;
        # so are batched columns (vectors or matrices) after one shared matrix: A @ [Y_1 ... Y_B], read back.
        if bx and not by and y._data.ndim == 2:
            rows = x.reshape(-1, x._data.shape[-1])
            return apply(MatMul, (rows, y)).reshape(x._data.shape[:-1] + y._data.shape[-1:])
        if by and not bx and x._data.ndim == 2:
            if y._data.ndim == 2:
                return transpose(apply(MatMul, (x, transpose(y, 0, 1))), 0, 1)
            columns = movedim(y, -2, 0)  # (k, B, ..., n)
            out = apply(MatMul, (x, columns.reshape(columns._data.shape[0], -1)))
            return movedim(out.reshape((x._data.shape[0],) + columns._data.shape[1:]), 0, -2)
        x_vector, y_vector = x._data.ndim - bx == 1, y._data.ndim - by == 1
        x = x.unsqueeze(-2) if x_vector else x
        y = y.unsqueeze(-1) if y_vector else y
        out = apply(MatMul, align((x, y), batched))
        out = out.squeeze(-2) if x_vector else out
        return out.squeeze(-1) if y_vector else out


def _matrix_gradients(g, a, b, need: tuple, transposed: tuple, product, swap) -> tuple:
    """MatMul's VJP for two matrices ``a @ b``: ``(g @ b.T, a.T @ g)``, each ``None`` where ``need`` says so.

    ``product(p, q) = p @ q`` and ``swap(p) = p.T`` are either ops on tensors (the rule differentiates again) or
    array calls on arrays (when nothing records: the same NumPy calls, so the same bits). An operand laid out as
    a transposed matrix (``weight.t()``, ``transposed``; see :func:`_transposed`) gets its gradient computed
    transposed.
    """
    gx = gy = None
    if need[0]:
        gx = swap(product(b, swap(g))) if transposed[0] else product(g, swap(b))
    if need[1]:
        gy = swap(product(swap(g), a)) if transposed[1] else product(swap(a), g)
    return gx, gy


def _array_product(p, q):
    return p @ q


def _array_transpose(p):
    return p.T


def _transpose_matrix(t: Tensor) -> Tensor:
    return transpose(t, 0, 1)


def _transposed(t: Tensor) -> bool:
    """Whether ``t`` is a matrix laid out as the transpose of a row-major one (``weight.t()`` in ``linear``).

    NOTE: the gradient of such an operand is computed transposed (``g.T @ x`` rather than ``x.T @ g``), as torch
    does, so that it arrives at the row-major tensor behind the view laid out like it: the engine can then hand
    the product itself to ``.grad`` instead of copying a transposed view into place.
    """
    a = t._data
    return a.shape[0] > 1 and a.shape[1] > 1 and a.flags.f_contiguous and not a.flags.c_contiguous


@public(MatMul)
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with numpy/torch semantics: 1-D operands are vectors, leading dims broadcast."""
    x, y = promote(input, other, "matmul")
    xs, ys = x._data.shape, y._data.shape
    if not xs or not ys:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes {tuple(xs)} and "
                           f"{tuple(ys)}")
    inner_x = xs[-1]
    inner_y = ys[-2] if len(ys) > 1 else ys[0]
    if inner_x != inner_y:
        raise RuntimeError(f"matmul: cannot multiply shapes {tuple(xs)} and {tuple(ys)} "
                           f"({inner_x} != {inner_y})")
    if len(xs) > 2 or len(ys) > 2:
        try:
            xp.broadcast_shapes(xs[:-2], ys[:-2])
        except ValueError:
            raise RuntimeError(f"matmul: batch dimensions of shapes {tuple(xs)} and {tuple(ys)} cannot be "
                               "broadcast together") from None
    return apply(MatMul, (x, y))


@public(methods=("mm",))
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices, strictly 2-D: ``(n, m) @ (m, p) -> (n, p)`` (no broadcasting, unlike matmul).

    Example::

        >>> chainrule.mm(chainrule.ones(2, 3), chainrule.ones(3, 4)).shape
        chainrule.Size([2, 4])
    """
    for name, t in (("self", _tensor_arg("mm", "input", input)), ("mat2", _tensor_arg("mm", "mat2", mat2))):
        if t._data.ndim != 2:
            raise RuntimeError(f"mm: {name} must be a matrix, got a {t._data.ndim}-D tensor of shape "
                               f"{tuple(t._data.shape)}; use matmul for vectors and batches")
    (n, m), (k, p) = input._data.shape, mat2._data.shape
    if m != k:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({n}x{m} and {k}x{p})")
    return matmul(input, mat2)


@public(methods=("bmm",))
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product, strictly 3-D: ``(b, n, m) @ (b, m, p) -> (b, n, p)`` (no broadcasting)."""
    for name, t in (("batch1", _tensor_arg("bmm", "input", input)),
                    ("batch2", _tensor_arg("bmm", "mat2", mat2))):
        if t._data.ndim != 3:
            raise RuntimeError(f"bmm: {name} must be a 3D tensor, got shape {tuple(t._data.shape)}")
    (b, _, m), (b2, k, _) = input._data.shape, mat2._data.shape
    if (b2, k) != (b, m):
        raise RuntimeError(f"bmm: expected size for first two dimensions of batch2 tensor to be: [{b}, {m}] "
                           f"but got: [{b2}, {k}] (shapes {tuple(input._data.shape)} and "
                           f"{tuple(mat2._data.shape)})")
    return matmul(input, mat2)


@public(methods=("dot",))
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length: a 0-d tensor."""
    x, y = _tensor_arg("dot", "input", input), _tensor_arg("dot", "tensor", tensor)
    if x._data.ndim != 1 or y._data.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {x._data.ndim}D and {y._data.ndim}D tensors "
                           f"(shapes {tuple(x._data.shape)} and {tuple(y._data.shape)}); use matmul or einsum")
    if x._data.shape != y._data.shape:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensors of the same length, but got "
                           f"{x._data.shape[0]} and {y._data.shape[0]} elements")
    return matmul(x, y)


@public(methods=("outer",))
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of 1-D tensors: ``out[i, j] = input[i] * vec2[j]``, shape ``(n, m)``."""
    for name, t in (("self", _tensor_arg("outer", "input", input)),
                    ("vec2", _tensor_arg("outer", "vec2", vec2))):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D (shape "
                               f"{tuple(t._data.shape)})")
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))


def _scaled_sum(op: str, input, prod: Tensor, beta, alpha) -> Tensor:
    """``beta * input + alpha * prod`` with ``input`` broadcast to ``prod``'s shape; ``beta=0`` ignores
    ``input`` (NaNs included), as torch's ``add*`` products do."""
    _tensor_arg(op, "input", input)
    shape = prod._data.shape
    try:
        ok = xp.broadcast_shapes(input._data.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{op}: input of shape {tuple(input._data.shape)} cannot be broadcast to the "
                           f"product's shape {tuple(shape)}")
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod
    return prod + (input if beta == 1 else input * beta)


@public(methods=("addmm",))
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to ``(n, p)``; ``beta=0`` ignores it
    (NaNs included), as in torch."""
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


@public(methods=("mv",))
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix times vector, strictly ``(n, m) @ (m,) -> (n,)``."""
    x, v = _tensor_arg("mv", "input", input), _tensor_arg("mv", "vec", vec)
    if x._data.ndim != 2 or v._data.ndim != 1 or x._data.shape[1] != v._data.shape[0]:
        raise RuntimeError(f"mv: size mismatch, got mat {tuple(x._data.shape)} and vec {tuple(v._data.shape)}; "
                           "expected a matrix (n, m) and a vector (m,)")
    return matmul(x, v)


@public(methods=("addmv",))
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``; ``input`` broadcasts to ``(n,)``."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


@public(methods=("addr",))
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``; ``input`` broadcasts to ``(n, m)``."""
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


@public(methods=("baddbmm",))
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``; ``input`` broadcasts to ``(b, n, p)``."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


@public(methods=("addbmm",))
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``; ``input`` broadcasts to ``(n, p)``."""
    return _scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


@public(methods=("ger",))
def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """torch.ger (deprecated in torch): :func:`outer`."""
    return outer(input, vec2)


@public(methods=("vdot",))
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors (as :func:`dot`: chainrule has no complex dtypes to conjugate)."""
    return dot(input, other)


@public(methods=("inner",))
def inner(input: Tensor, other: Tensor) -> Tensor:
    """The inner product over the last dims: shape ``input.shape[:-1] + other.shape[:-1]``; a 0-d operand
    multiplies."""
    x, y = _tensor_arg("inner", "input", input), _tensor_arg("inner", "other", other)
    if x._data.ndim == 0 or y._data.ndim == 0:
        return x * y
    if x._data.shape[-1] != y._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(x._data.shape)} and {list(y._data.shape)}")
    return _inner_last(x, y)


def _inner_last(x: Tensor, y: Tensor) -> Tensor:
    """``sum_k x[..., k] y[..., k]`` over every pair of leading indices (an einsum)."""
    a = "".join(_LETTERS[i] for i in range(x._data.ndim - 1))
    b = "".join(_LETTERS[26 + i] for i in range(y._data.ndim - 1))
    return einsum(f"{a}z,{b}z->{a}{b}", x, y)


@public(methods=("trace",))
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix (2-D only); integer matrices sum to int64, as torch."""
    x = _tensor_arg("trace", "input", input)
    if x._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x._data.ndim}")
    if x._data.dtype.kind == "b":
        raise NotImplementedError("trace: not implemented for 'Bool'")
    return x.diagonal().sum()


# -- einsum ------------------------------------------------------------------------------------------

_LETTERS = string.ascii_letters


class Einsum(Primitive):
    """``einsum`` over normalised subscripts: one string per operand (no ellipsis), an explicit output, and
    operands whose shared subscripts have equal sizes (the public function expands broadcast size-1 dims)."""

    name = "einsum"
    may_warn = True
    warns_from_numpy = True
    inputs = ("xs",)
    params = (Param("subs", tuple, "one subscript string per operand"), Param("out_sub", str, "the output's"))
    doc = "The einsum ``subs[0],subs[1],...->out_sub`` of the operands."
    gate = "einsum: each operand's gradient is an einsum of the upstream gradient with the other operands"
    save_inputs = True

    @staticmethod
    def forward(ctx, *arrays, subs, out_sub):
        # NOTE: NumPy's path optimiser hands big contractions to BLAS (~10x faster at 64x64) but costs ~80 us,
        # far more than a small einsum itself, so only several or large operands get it.
        optimize = len(arrays) > 2 or (len(arrays) == 2 and max(arrays[0].size, arrays[1].size) > 1024)
        return xp.einsum(",".join(subs) + "->" + out_sub, *arrays, optimize=optimize)

    @staticmethod
    def vjp(ctx, g):
        x = ctx.inputs
        subs, out_sub = ctx.params["subs"], ctx.params["out_sub"]
        return tuple(None if ctx.next[k] is None else _einsum_cotangent(g, x, subs, out_sub, k)
                     for k in range(len(x)))

    @staticmethod
    def batch_rule(inputs, batched, params):
        subs, out_sub = params["subs"], params["out_sub"]
        batch = next(c for c in _LETTERS if c not in out_sub and all(c not in s for s in subs))
        subs = tuple(batch + s if b else s for s, b in zip(subs, batched))
        return apply(Einsum, inputs, subs=subs, out_sub=batch + out_sub)

    @staticmethod
    def jvp(ctx, *x_t):
        # NOTE: einsum is linear in each operand: its tangent sums the einsums with one operand swapped.
        x = ctx.inputs
        out = None
        for k, t in enumerate(x_t):
            term = apply(Einsum, x[:k] + (t,) + x[k + 1:], **ctx.params)
            out = term if out is None else out + term
        return out


def _einsum_cotangent(g: Tensor, x: tuple, subs: tuple, out_sub: str, k: int) -> Tensor:
    """The VJP for operand ``k``: an einsum of ``g`` with the other operands, onto ``k``'s subscripts."""
    fresh = iter(c for c in _LETTERS if c not in out_sub and all(c not in s for s in subs))
    sizes = dict(zip(subs[k], x[k]._data.shape, strict=True))
    operands = [g] + [t for j, t in enumerate(x) if j != k]
    in_subs = [out_sub] + [s for j, s in enumerate(subs) if j != k]
    available = set("".join(in_subs))
    target = ""
    for c in subs[k]:
        if c in target:
            # NOTE: a repeated subscript reads a diagonal, so the cotangent lands on that diagonal: an
            # identity factor ties the repeated axis to the first.
            d = next(fresh)
            operands.append(_wrap(xp.eye(sizes[c], dtype=g._data.dtype, like=g._data)))
            in_subs.append(c + d)
            target += d
            continue
        if c not in available:
            # NOTE: summed inside operand k alone, so all its elements get the same cotangent: a ones factor.
            operands.append(_wrap(xp.ones(sizes[c], dtype=g._data.dtype, like=g._data)))
            in_subs.append(c)
        target += c
    return apply(Einsum, tuple(operands), subs=tuple(in_subs), out_sub=target)


def _split_ellipsis(term: str, k: int, ndim: int) -> tuple:
    """``(head, ellipsis_ndim, tail)`` of one operand's subscripts, checked against its number of dims."""
    head, dots, tail = term.partition("...")
    if "." in head or "." in tail:
        raise RuntimeError(f"einsum(): found '.' for operand {k} that is not part of any ellipsis ('...')")
    n = len(head) + len(tail)
    if not dots and n != ndim:
        raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does not match the "
                           f"number of dimensions ({ndim}) for operand {k} and no ellipsis was given")
    if n > ndim:
        raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) is more than the "
                           f"number of dimensions ({ndim}) for operand {k}")
    return head, ndim - n, tail


def _einsum_spec(equation: str, shapes: list) -> tuple:
    """Normalise ``equation``: each operand's subscripts with its ellipsis spelled out as letters, the
    explicit output subscripts, and every subscript's broadcast size."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    for part, allowed in ((lhs, _LETTERS + ".,"), (rhs, _LETTERS + ".")):
        for c in part:
            if c not in allowed:
                raise RuntimeError(f"einsum(): invalid subscript {c!r} in the equation {equation!r}; "
                                   "subscripts must be in [a-zA-Z], operands separated by ',' and the output "
                                   "after one '->'")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): the equation {equation!r} names {len(terms)} operand(s) but "
                           f"{len(shapes)} were given")
    parts = [_split_ellipsis(term, k, len(shapes[k])) for k, term in enumerate(terms)]
    n_ell = max(e for _, e, _ in parts)
    ell = "".join([c for c in _LETTERS if c not in eq][:n_ell])
    subs = tuple(head + ell[n_ell - e:] + tail for head, e, tail in parts)
    if arrow:
        head, dots, tail = rhs.partition("...")
        if "." in head or "." in tail:
            raise RuntimeError("einsum(): found '.' for the output that is not part of any ellipsis ('...')")
        out_sub = head + (ell if dots else "") + tail
        for c in head + tail:
            if c not in lhs:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any "
                                   "input operand")
            if out_sub.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    else:
        # NOTE: torch's implicit output: the ellipsis dims, then the subscripts used once, in ASCII order.
        counts = "".join(subs)
        out_sub = ell + "".join(sorted(c for c in set(counts) if c not in ell and counts.count(c) == 1))
    sizes: dict = {}
    for k, (sub, shape) in enumerate(zip(subs, shapes, strict=True)):
        own: dict = {}
        for c, n in zip(sub, shape, strict=True):
            if own.setdefault(c, n) != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't "
                                   f"match, {own[c]} != {n}")
            seen = sizes.setdefault(c, n)
            if seen != n:
                if seen != 1 and n != 1:
                    raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which does not "
                                       f"broadcast with previously seen size {seen}")
                sizes[c] = n if seen == 1 else seen
    return subs, out_sub, sizes


@public()
def einsum(equation: str, *operands) -> Tensor:
    """Sum of products over the subscripts of ``equation``, as ``torch.einsum`` / ``numpy.einsum``.

    ``einsum("ij,jk->ik", a, b)`` is ``a @ b``; operands may also come as one list. Subscripts are letters;
    ``...`` stands for broadcast leading dims; a subscript repeated in one operand takes a diagonal
    (``"ii->i"``); without ``->`` the output is the ellipsis dims then the subscripts used once, sorted.
    Size-1 dims broadcast against the same subscript elsewhere. The sublist form is not supported.

    Example::

        >>> a, b = chainrule.ones(2, 3), chainrule.ones(3, 4)
        >>> chainrule.einsum("ij,jk->ik", a, b).shape
        chainrule.Size([2, 4])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the equation must be a string such as 'ij,jk->ik', got "
                        f"{type(equation).__name__} (the sublist format is not supported)")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for k, t in enumerate(operands):
        _tensor_arg("einsum", f"operands[{k}]", t)
    dtype = operands[0].dtype
    for t in operands[1:]:
        dtype = _dtype.promote_types(dtype, t.dtype)
    operands = tuple(cast_to(t, dtype.np) for t in operands)
    subs, out_sub, sizes = _einsum_spec(equation, [t._data.shape for t in operands])
    # NOTE: broadcast size-1 dims are expanded first (a view): the primitive's rules never see broadcasting.
    operands = tuple(broadcast_to(t, tuple(sizes[c] for c in s)) for t, s in zip(operands, subs, strict=True))
    return apply(Einsum, operands, subs=subs, out_sub=out_sub)


# -- inverse, determinants, solve --------------------------------------------------------------------

def _matrices(op: str, A) -> Tensor:
    """Refuse what the factorisations cannot take: non-tensors, non-floats (float16: LAPACK has none, as torch's
    CPU), fewer than 2 dims."""
    _tensor_arg(op, "A", A)
    if A._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: Expected a floating point tensor as input, got {A.dtype}; convert first, "
                           "e.g. A.double() (complex dtypes are not supported)")
    if A._data.dtype.itemsize < 4:
        raise NotImplementedError(f"{op}: not implemented for {A.dtype}; convert to float32 or float64 first")
    if A._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions, got shape "
                           f"{tuple(A._data.shape)}")
    return A


def _square(op: str, A) -> Tensor:
    """:func:`_matrices`, and square ones."""
    m, n = _matrices(op, A)._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are {m} by {n} matrices "
                           f"(shape {tuple(A._data.shape)})")
    return A


class LinAlgError(RuntimeError):
    """A matrix the factorisation cannot take (singular, not positive definite), as torch.linalg.LinAlgError;
    a RuntimeError, so code catching that keeps working."""


LinAlgError.__module__ = "chainrule.linalg"


def _singular(op: str, a, consequence: str) -> LinAlgError:
    where_ = ""
    if a.ndim > 2:
        for i, m in enumerate(a.reshape((-1,) + a.shape[-2:])):
            try:
                xp.linalg.inv(m)
            except xp.linalg.LinAlgError:
                where_ = f" (batch element {i})"
                break
    return LinAlgError(f"{op}: the input matrix{where_} is singular, so {consequence} (A has shape "
                        f"{tuple(a.shape)}); check for linearly dependent rows or columns")


class Inv(Primitive):
    name = "linalg_inv"
    may_warn = True
    params = (Param("op", str, "the public name, for the error at a singular matrix"),)
    doc = "The inverse of each square matrix in ``x``."
    gate = "inverse: the gradient is -A^-T g A^-T"
    batch_params = staticmethod(lambda size, p: p)  # NOTE: already batched over leading dims
    save_output = True

    @staticmethod
    def forward(ctx, a, op):
        try:
            return xp.linalg.inv(a)
        except xp.linalg.LinAlgError:
            raise _singular(op, a, "the inversion could not be completed") from None

    @staticmethod
    def vjp(ctx, g):
        out_h = ctx.output.mT
        return -(out_h @ g @ out_h)

    @staticmethod
    def jvp(ctx, a_t):
        out = ctx.output
        return -(out @ a_t @ out)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in ``A`` (shape ``(*, n, n)``); singular matrices raise RuntimeError.

    Example::

        >>> chainrule.linalg.inv(chainrule.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    return apply(Inv, (_square("linalg.inv", A),), op="linalg.inv")


inverse = public(methods=("inverse",), name="inverse")(inv)


def _inv_mT(A: Tensor, op: str) -> Tensor:
    """``A^{-T}``, the derivative of log|det A|; singular ``A`` names ``op`` in its error."""
    return apply(Inv, (A,), op=op).mT


def _trace_with(A_inv_t: Tensor, a_t: Tensor) -> Tensor:
    """``tr(A^{-1} a_t)`` per matrix, from ``A^{-T}``: the directional derivative of log|det A|."""
    return (A_inv_t * a_t).sum((-2, -1))


_SLOGDET_GRAD = "linalg.slogdet (its derivative uses the inverse)"


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)`` of :func:`slogdet`, as ``torch.return_types.slogdet``."""

    sign: Tensor
    logabsdet: Tensor


class Slogdet(Primitive):
    name = "linalg_slogdet"
    may_warn = True
    warns_from_numpy = True
    doc = "The sign and log |det| of each square matrix in ``x``."
    gate = "slogdet: the gradient of log|det A| is A^-T; the sign gets none"
    batch_params = staticmethod(lambda size, p: p)  # NOTE: already batched over leading dims
    save_inputs = True
    n_outputs = 2

    @staticmethod
    def forward(ctx, a):
        sign, logabsdet = xp.linalg.slogdet(a)
        return as_array(sign), as_array(logabsdet)

    @staticmethod
    def vjp(ctx, g_sign, g_logabsdet):
        # NOTE: the sign is piecewise constant: it gets (and passes) no gradient.
        return g_logabsdet.unsqueeze(-1).unsqueeze(-1) * _inv_mT(ctx.inputs[0], _SLOGDET_GRAD)

    @staticmethod
    def jvp(ctx, a_t):
        return None, _trace_with(_inv_mT(ctx.inputs[0], _SLOGDET_GRAD), a_t)


@public(methods=("slogdet",))
def slogdet(A: Tensor) -> SlogdetResult:
    """``(sign, logabsdet)`` with ``det(A) == sign * exp(logabsdet)``, without the overflow of ``det`` itself.

    Shapes ``(*, n, n) -> (*), (*)``; a singular matrix gives ``sign 0`` and ``logabsdet -inf``.
    """
    sign, logabsdet = apply(Slogdet, (_square("linalg.slogdet", A),))
    return SlogdetResult(sign, logabsdet)


class Solve(Primitive):
    """``X = A^{-1} B`` for matrices ``B``; batch dims broadcast (the engine sums the gradients back)."""

    name = "linalg_solve"
    may_warn = True
    inputs = ("a", "b")
    doc = "``X = A^-1 B`` for each matrix pair."
    gate = "solve: the gradient of B solves with A^T; A's is -(that) X^T"
    batch_rule = classmethod(batch_elementwise)  # NOTE: the leading (batch) dims broadcast elementwise
    save_inputs = True
    save_output = True
    broadcasts = True

    @staticmethod
    def forward(ctx, a, b):
        batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        try:
            # NOTE: equal ranks, so every NumPy version reads b as a stack of matrices, never of vectors.
            return xp.linalg.solve(xp.broadcast_to(a, batch + a.shape[-2:]),
                                   xp.broadcast_to(b, batch + b.shape[-2:]))
        except xp.linalg.LinAlgError:
            raise _singular("linalg.solve", a, "the system AX = B has no unique solution") from None

    @staticmethod
    def vjp(ctx, g):
        a = ctx.inputs[0]
        gb = apply(Solve, (a.mT, g))
        return -(gb @ ctx.output.mT), gb

    @staticmethod
    def jvp(ctx, a_t, b_t):
        a = ctx.inputs[0]
        return apply(Solve, (a, b_t - a_t @ ctx.output))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """The solution ``X`` of ``A X = B`` (or ``X A = B`` with ``left=False``), without forming ``A^{-1}``.

    ``A``: ``(*, n, n)``; ``B``: ``(*, n, k)``, or a batch of vectors ``(*, n)`` (when ``B`` is 1-D or has
    ``A``'s shape without its last dim). Batch dims broadcast. A singular ``A`` raises RuntimeError.

    Example::

        >>> chainrule.linalg.solve(chainrule.tensor([[2.0, 0.0], [0.0, 4.0]]), chainrule.tensor([2.0, 2.0]))
        tensor([1.0000, 0.5000])
    """
    _tensor_arg("linalg.solve", "A", A)
    _tensor_arg("linalg.solve", "B", B)
    A, B = promote(A, B, "linalg.solve")
    n = _square("linalg.solve", A)._data.shape[-1]
    a_shape, b_shape = tuple(A._data.shape), tuple(B._data.shape)
    vector = left and (len(b_shape) == 1 or b_shape == a_shape[:-1])
    if vector:
        B = unsqueeze(B, -1)
    elif not left and len(b_shape) >= 2:
        A, B = A.mT, B.mT
    if B._data.ndim < 2 or B._data.shape[-2] != n:
        expected = f"(*, {n}, k) or (*, {n})" if left else f"(*, k, {n})"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'}: A has shape {a_shape}, so B must have shape "
                           f"{expected}, got {b_shape}")
    try:
        xp.broadcast_shapes(A._data.shape[:-2], B._data.shape[:-2])
    except ValueError:
        raise RuntimeError(f"linalg.solve: the batch dimensions of A {tuple(A._data.shape)} and B "
                           f"{tuple(B._data.shape)} cannot be broadcast together") from None
    X = apply(Solve, (A, B))
    if vector:
        return squeeze(X, -1)
    return X if left else X.mT


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """The solution ``X`` of ``A X = B`` (``X A = B`` with ``left=False``) for triangular ``A``.

    Only ``A``'s ``upper`` (or lower) triangle is read; ``unitriangular=True`` takes its diagonal as ones. ``A``:
    ``(*, n, n)``, ``B``: ``(*, n, k)`` (``(*, k, n)`` with ``left=False``); batch dims broadcast. The gradient of
    ``A`` lies in the triangle read, as in torch.

    Example::

        >>> chainrule.linalg.solve_triangular(chainrule.tensor([[2.0, 1.0], [0.0, 4.0]]),
        ...                                    chainrule.tensor([[3.0], [4.0]]), upper=True)
        tensor([[1.],
                [1.]])
    """
    # NOTE: a composite: solve() on the triangle read, so the gradient lands in that triangle and differentiates
    # again. Unlike torch (which returns inf), a zero on the diagonal raises as a singular matrix.
    _tensor_arg("linalg.solve_triangular", "B", B)
    A = _square("linalg.solve_triangular", A)
    if B._data.ndim < 2:
        raise RuntimeError(f"linalg.solve_triangular: The input tensor B must have at least 2 dimensions, got "
                           f"shape {tuple(B._data.shape)}")
    n = A._data.shape[-1]
    if unitriangular:
        A = (triu(A, 1) if upper else tril(A, -1)) + _wrap(xp.eye(n, dtype=A._data.dtype))
    else:
        A = triu(A) if upper else tril(A)
    if B._data.shape[-1 if not left else -2] != n:
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({tuple(A._data.shape)} and {tuple(B._data.shape)})")
    return solve(A, B, left=left)


def deprecated(name: str, replacement: str) -> None:
    """torch's warning for its legacy linear-algebra functions (``torch.qr``, ``torch.lu``, ...)."""
    warnings.warn(f"torch.{name} is deprecated in favor of torch.linalg.{replacement} and will be removed in a "
                  "future PyTorch release.", UserWarning, stacklevel=3)


class TriangularSolveResult(NamedTuple):
    """``(solution, cloned_coefficient)`` of :func:`triangular_solve`, as ``torch.return_types.triangular_solve``."""

    solution: Tensor
    cloned_coefficient: Tensor


@public(methods=("triangular_solve",))
def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False) -> TriangularSolveResult:
    """torch.triangular_solve (deprecated in torch): ``solve_triangular(A, b)`` (``A^T`` with ``transpose``),
    returned with a copy of ``A``."""
    deprecated("triangular_solve", "solve_triangular")
    _tensor_arg("triangular_solve", "A", A)
    coefficient = A.mT if transpose else A
    x = solve_triangular(coefficient, b, upper=upper != transpose, unitriangular=unitriangular)
    return TriangularSolveResult(x, A.clone())


@public(methods=("matrix_power",))
def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` to the integer power ``n`` by repeated squaring: ``(*, m, m)``; ``n = 0`` gives identities and a
    negative ``n`` powers the inverse (a singular matrix raises).

    Example::

        >>> chainrule.linalg.matrix_power(chainrule.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
        tensor([[1., 3.],
                [0., 1.]])
    """
    _tensor_arg("linalg.matrix_power", "A", A)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__} {n!r}")
    shape = A._data.shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{' by '.join(map(str, shape[-2:]))} matrices (shape {tuple(shape)})")
    if n == 0:
        return broadcast_to(_wrap(xp.eye(shape[-1], dtype=A._data.dtype)), shape)
    if n < 0:
        A, n = inv(A), -n
    out = None
    while n:
        if n & 1:
            out = A if out is None else out @ A
        n >>= 1
        if n:
            A = A @ A
    return out


def multi_dot(tensors) -> Tensor:
    """The chained product of matrices; the first may be 1-D (a row) and the last 1-D (a column), dropped from
    the result as in torch. Evaluated left to right.

    Example::

        >>> chainrule.linalg.multi_dot([chainrule.ones(3), chainrule.ones(3, 2), chainrule.ones(2)])
        tensor(6.)
    """
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for k, t in enumerate(tensors):
        _tensor_arg("linalg.multi_dot", f"tensors[{k}]", t)
        first_or_last = k in (0, len(tensors) - 1)
        if t._data.ndim != 2 and not (first_or_last and t._data.ndim == 1):
            raise RuntimeError(f"multi_dot(): tensor {k} must be 2D{' or 1D' if first_or_last else ''} but got "
                               f"{t._data.ndim}D (shape {tuple(t._data.shape)})")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim``; other dims broadcast: ``(x * y).sum(dim)``."""
    x, y = promote(_tensor_arg("linalg.vecdot", "x", x), _tensor_arg("linalg.vecdot", "y", y), "linalg.vecdot")
    if x._data.shape[dim] != y._data.shape[dim]:
        raise RuntimeError(f"linalg.vecdot: the sizes of dimension {dim} differ: {x._data.shape[dim]} and "
                           f"{y._data.shape[dim]} (shapes {tuple(x._data.shape)} and {tuple(y._data.shape)})")
    return (x * y).sum(dim)


def _numel(shape) -> int:
    out = 1
    for n in shape:
        out *= n
    return out


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of ``A`` for :func:`tensordot` over its first ``ind`` dims: ``A`` reshaped to a square
    matrix ``(prod(shape[:ind]), prod(shape[ind:]))``, inverted, reshaped to ``shape[ind:] + shape[:ind]``."""
    _tensor_arg("linalg.tensorinv", "A", A)
    if isinstance(ind, bool) or not isinstance(ind, int) or ind <= 0:
        raise RuntimeError(f"linalg.tensorinv: Expected a strictly positive integer for 'ind', but got {ind!r}")
    shape = tuple(A._data.shape)
    rows, cols = _numel(shape[:ind]), _numel(shape[ind:])
    if rows != cols:
        raise RuntimeError(f"linalg.tensorinv: Expected self to satisfy the requirement "
                           f"prod(self.shape[ind:]) == prod(self.shape[:ind]), but got {cols} != {rows} "
                           f"(shape {shape}, ind={ind})")
    return reshape(inv(reshape(A, (rows, cols))), shape[ind:] + shape[:ind])


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """The ``X`` with ``tensordot(A, X, X.ndim) == B``: ``X`` has shape ``A.shape[B.ndim:]``. ``dims``: dims of
    ``A`` moved to the end first."""
    _tensor_arg("linalg.tensorsolve", "A", A)
    _tensor_arg("linalg.tensorsolve", "B", B)
    if dims is not None:
        dims = [_normalize_dim(d, A._data.ndim, "linalg.tensorsolve") for d in dims]
        A = A.permute(*[d for d in range(A._data.ndim) if d not in dims], *dims)
    shape, b_shape = tuple(A._data.shape), tuple(B._data.shape)
    x_shape = shape[len(b_shape):]
    if shape[:len(b_shape)] != b_shape or _numel(x_shape) != _numel(b_shape):
        raise RuntimeError(f"linalg.tensorsolve: Expected self to satisfy the requirement "
                           f"prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]) with "
                           f"self.shape[:other.ndim] == other.shape, got A of shape {shape} and B of shape "
                           f"{b_shape}")
    n = _numel(b_shape)
    return reshape(solve(reshape(A, (n, n)), reshape(B, (n,))), x_shape)


@public(methods=("logdet",))
def logdet(input: Tensor) -> Tensor:
    """``log(det(A))`` of each square matrix: ``(*, n, n) -> (*)``; nan where the determinant is negative and
    ``-inf`` where it is zero, as torch. The gradient is ``A^{-T}``.

    Example::

        >>> chainrule.logdet(chainrule.tensor([[2.0, 0.0], [0.0, 3.0]]))
        tensor(1.7918)
    """
    sign, logabsdet = slogdet(input)
    # NOTE: log(sign) is 0, nan or -inf: the sign carries no gradient, so only logabsdet's flows.
    return logabsdet + sign.log()


# -- Tensor methods and operators --------------------------------------------------------------------

for _fn in (addmm, addmv, addr, baddbmm, addbmm):
    inplace_method(_fn.__name__ + "_", _fn)
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)

__all__ = exports(__name__)
