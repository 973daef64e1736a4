"""Shape ops: reshape, broadcast, transpose, permute, slicing, padding, diagonals and composites of them.

Each is linear, so its JVP is the op applied to the tangent, and its VJP the inverse rearrangement.
``sum_to`` (the VJP of broadcasting) lives here as well: it is the one place broadcasting is undone. Slicing
(``narrow``) and constant padding are each other's VJP, as are ``diagonal`` and its embedding; joins (cat,
stack, split, the non-constant pads, ...) build on them in ``join.py``.
"""

from __future__ import annotations

import operator

from .._backend import xp
from ..tensor import Size, Tensor, _normalize_dim, _wrap
from ._primitive import Param, Primitive, apply, batch_elementwise, exports, method, public, shift, with_rank
from .arith import where
from .cast import clone


def _shape_arg(shape, op: str, arg: str = "shape") -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` like torch; anything but int64 integers is a
    TypeError/ValueError naming ``op`` and ``arg`` (see :func:`int_tuple`)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return int_tuple(shape, op, arg)


_SHAPE = Param("shape", tuple, "the shape of the result")


class Reshape(Primitive):
    name = "reshape"
    backward_view = True
    params = (_SHAPE,)
    doc = "The same elements in a new ``shape``."
    expression = "{x}.reshape({shape})"
    backward_code = ("{g}.reshape({x_shape})",)
    gate = "reshape: the gradient is reshaped back"
    methods = ("reshape", "view")
    batch_params = staticmethod(lambda size, p: {"shape": (size,) + p["shape"]})

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def vjp(ctx, g):
        return reshape(g, ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return reshape(x_t, ctx.params["shape"])


def _infer_shape(shape: tuple, size: int, op: str) -> tuple:
    known = 1
    unknown = [i for i, s in enumerate(shape) if s == -1]
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {list(shape)}")
            known *= s
    if len(unknown) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (-1), got shape {list(shape)}")
    if unknown:
        if known == 0 or size % known:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {size}")
        shape = shape[:unknown[0]] + (size // known,) + shape[unknown[0] + 1:]
    elif known != size:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {size}")
    return shape


@public(Reshape)
def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one dimension may be -1); ``view`` is the same op here."""
    shape = _infer_shape(_shape_arg(shape, "reshape"), input._data.size, "reshape")
    if shape == input._data.shape:
        return input
    return apply(Reshape, (input,), shape=shape)


class BroadcastTo(Primitive):
    name = "expand"
    params = (_SHAPE,)
    doc = "A read-only broadcast view of ``x`` with ``shape``."
    expression = "{cr}broadcast_to({x}, {shape})"
    backward_code = ("{cr}sum_to({g}, {x_shape})",)
    gate = "broadcast (copy) gate: the value is copied, so the gradients of the copies sum"
    methods = ("broadcast_to",)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return xp.broadcast_to(x, shape)

    @staticmethod
    def vjp(ctx, g):
        return sum_to(g, ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return broadcast_to(x_t, ctx.params["shape"])

    @staticmethod
    def batch_rule(inputs, batched, params):
        shape = params["shape"]
        x = with_rank(inputs[0], len(shape))
        return apply(BroadcastTo, (x,), shape=x._data.shape[:1] + shape)


class SumTo(Primitive):
    """Sum a broadcast tensor back down to ``shape`` (leading dims and dims that were 1)."""

    name = "sum_to"
    may_warn = True
    backward_view = True
    params = (_SHAPE,)
    doc = "``x`` summed down to ``shape``, undoing a broadcast."
    expression = "{cr}sum_to({x}, {shape})"
    backward_code = ("{cr}broadcast_to({g}, {x_shape})",)
    gate = "sum_to: undoes a broadcast; the upstream gradient is copied back"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                          if s == 1 and x.shape[i + lead] != 1)
        out = x.sum(axis=axes, keepdims=True) if axes else x
        return out.reshape(shape)

    @staticmethod
    def vjp(ctx, g):
        return broadcast_to(g, ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return sum_to(x_t, ctx.params["shape"])

    @staticmethod
    def batch_rule(inputs, batched, params):
        # NOTE: the batch dim goes after the leading dims that are summed away, so it is kept.
        (x,), shape = inputs, params["shape"]
        lead = x._data.ndim - 1 - len(shape)
        return apply(SumTo, (x.movedim(0, lead),), shape=x._data.shape[:1] + shape)


@public(BroadcastTo)
def broadcast_to(input: Tensor, *shape) -> Tensor:
    """A read-only broadcast view of ``input`` with ``shape``."""
    shape = _shape_arg(shape, "broadcast_to", "size")
    if shape == input._data.shape:
        return input
    try:
        xp.broadcast_shapes(input._data.shape, shape)
        if len(shape) < input._data.ndim:
            raise ValueError
    except ValueError:
        raise RuntimeError(f"expand: the shape {tuple(input._data.shape)} cannot be expanded to {shape} (each "
                           "dimension must match or be 1, and new dimensions go in front)") from None
    out = apply(BroadcastTo, (input,), shape=shape)
    out._readonly = True  # NOTE: every element of a broadcast dim is the same memory
    return out


@method("expand")
def expand(self: Tensor, *sizes) -> Tensor:
    """Broadcast to ``sizes``; -1 keeps a dimension as it is."""
    sizes = _shape_arg(sizes, "expand", "size")
    lead = len(sizes) - self._data.ndim
    shape = tuple(self._data.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(self, shape)


@public(SumTo)
def sum_to(input: Tensor, shape) -> Tensor:
    """Sum ``input`` down to ``shape``, undoing broadcasting (``shape`` must broadcast to ``input.shape``)."""
    shape = tuple(shape)
    if shape == input._data.shape:
        return input
    return apply(SumTo, (input,), shape=shape)


class Transpose(Primitive):
    name = "transpose"
    backward_view = True
    params = (Param("dim0", int, "a dimension"), Param("dim1", int, "the dimension to swap it with"))
    doc = "``x`` with dimensions ``dim0`` and ``dim1`` swapped."
    expression = "{x}.transpose({dim0}, {dim1})"
    backward_code = ("{g}.transpose({dim0}, {dim1})",)
    gate = "transpose: the gradient is transposed back"
    methods, aliases = ("transpose", "swapaxes", "swapdims"), ("swapaxes", "swapdims")
    batch_params = staticmethod(lambda size, p: {"dim0": p["dim0"] + 1, "dim1": p["dim1"] + 1})

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        return xp.swapaxes(x, dim0, dim1)

    @staticmethod
    def vjp(ctx, g):
        return apply(Transpose, (g,), **ctx.params)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Transpose, (x_t,), **ctx.params)


@public(Transpose)
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    n = input._data.ndim
    d0, d1 = _normalize_dim(dim0, n, "transpose"), _normalize_dim(dim1, n, "transpose")
    if d0 == d1 or n < 2:
        return input
    return apply(Transpose, (input,), dim0=d0, dim1=d1)


swapaxes = swapdims = transpose


class Permute(Primitive):
    name = "permute"
    backward_view = True
    params = (Param("dims", tuple, "the input dimension each output dimension takes"),)
    doc = "``x`` with its dimensions reordered: ``out.shape[i] == x.shape[dims[i]]``."
    expression = "{x}.permute({dims})"
    gate = "permute: the gradient is permuted back"
    methods = ("permute",)
    batch_params = staticmethod(lambda size, p: {"dims": (0,) + shift(p["dims"])})

    @staticmethod
    def forward(ctx, x, dims):
        return xp.transpose(x, dims)

    @staticmethod
    def vjp(ctx, g):
        return permute(g, inverse_permutation(ctx.params["dims"]))

    @staticmethod
    def jvp(ctx, x_t):
        return permute(x_t, ctx.params["dims"])

    @classmethod
    def gradient_code(cls, params: dict, shapes: tuple) -> tuple:
        return ("{g}.permute(" + repr(inverse_permutation(params["dims"])) + ")",)


def inverse_permutation(dims: tuple) -> tuple:
    """The permutation that undoes ``dims``."""
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return tuple(inverse)


@public(Permute)
def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the dimensions: ``out.shape[i] == input.shape[dims[i]]``."""
    dims = _shape_arg(dims, "permute", "dims")
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute: number of dims {len(dims)} does not match the tensor's {n} dimensions "
                           f"(shape {tuple(input._data.shape)})")
    dims = tuple(_normalize_dim(d, n, "permute") for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    if dims == tuple(range(n)):
        return input
    return apply(Permute, (input,), dims=dims)


@public(methods=("movedim", "moveaxis"), aliases=("moveaxis",))
def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dimension(s) ``source`` to position(s) ``destination``."""
    n = input._data.ndim
    src = [_normalize_dim(d, n, "movedim") for d in ((source,) if isinstance(source, int) else source)]
    dst = [_normalize_dim(d, n, "movedim")
           for d in ((destination,) if isinstance(destination, int) else destination)]
    order = [d for d in range(n) if d not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


@public(methods=("squeeze",))
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    shape = input._data.shape
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 1]
    else:
        dims = [_normalize_dim(d, input._data.ndim, "squeeze")
                for d in ((dim,) if isinstance(dim, int) else dim)]
    new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(input, new)


@public(methods=("unsqueeze",))
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    n = input._data.ndim + 1
    d = _normalize_dim(dim, n, "unsqueeze")
    shape = input._data.shape
    return reshape(input, shape[:d] + (1,) + shape[d:])


@public(methods=("flatten",))
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one."""
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    s = _normalize_dim(start_dim, len(shape), "flatten")
    e = _normalize_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} cannot come after end_dim {end_dim}")
    return reshape(input, shape[:s] + (-1,) + shape[e + 1:])


@public(methods=("ravel",))
def ravel(input: Tensor) -> Tensor:
    """``input`` flattened to 1-D: shape (numel,)."""
    return reshape(input, (-1,))


@public(methods=("t",))
def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but got {input._data.ndim}; use "
                           "transpose or mT for batches")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input


method("sum_to_size")(lambda self, *shape: sum_to(self, _shape_arg(shape, "sum_to_size", "size")))
method("contiguous")(lambda self, memory_format=None: self)
def _shape_of(other, op: str) -> tuple:
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
    return other._data.shape


method("view_as")(lambda self, other: reshape(self, _shape_of(other, "view_as")))
method("reshape_as")(lambda self, other: reshape(self, _shape_of(other, "reshape_as")))
method("expand_as")(lambda self, other: broadcast_to(self, _shape_of(other, "expand_as")))
Tensor.T = property(lambda self: permute(self, tuple(reversed(range(self._data.ndim)))),
                    doc="All dimensions reversed.")
Tensor.mT = property(lambda self: transpose(self, -2, -1),
                     doc="The last two dimensions swapped (batched transpose).")
Tensor.H = Tensor.T
Tensor.mH = Tensor.mT


class Alias(Primitive):
    """The same data under a new tensor (a view); used by forward AD's ``make_dual``/``unpack_dual``."""

    name = "alias"
    doc = "The same data under a new tensor (a view)."
    local = ("1",)
    backward_code = ("1.0 * {g}",)
    expression = "{x}"
    gate = "view: the gradient passes unchanged"
    batch_rule = classmethod(batch_elementwise)

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def vjp(ctx, g):
        return g

    @staticmethod
    def jvp(ctx, x_t):
        return x_t


# -- dims and integer arguments ---------------------------------------------------------------------

_INT64 = (-2**63, 2**63 - 1)


def int_tuple(values, op: str, arg: str) -> tuple:
    """``values`` (an integer, e.g. an int, a NumPy integer or a 0-d integer tensor, or a sequence of them) as a
    tuple of ints, or a TypeError naming ``op`` and ``arg`` (a ValueError for an int beyond int64, as torch's
    "Overflow when unpacking long long": a size like ``10**20`` is refused here, never attempted)."""
    items = values if isinstance(values, (tuple, list)) else (values,)
    out = []
    for i, v in enumerate(items):
        try:
            if isinstance(v, bool):
                raise TypeError
            out.append(operator.index(v))
        except TypeError:
            raise TypeError(f"{op}: argument '{arg}' must be an int or a tuple of ints, but found element of type "
                            f"{type(v).__name__} at pos {i}") from None
        if not _INT64[0] <= out[-1] <= _INT64[1]:
            raise ValueError(f"{op}: argument '{arg}' overflows int64 (Overflow when unpacking long long): "
                             f"{out[-1]} at pos {i}")
    return tuple(out)


def int_arg(value, op: str, arg: str) -> int:
    """``value`` as one int64 integer, or a TypeError/ValueError naming ``op`` and ``arg`` (see :func:`int_tuple`)."""
    if isinstance(value, (tuple, list)):
        raise TypeError(f"{op}: argument '{arg}' must be int, not {type(value).__name__}")
    return int_tuple(value, op, arg)[0]


def flag(value, op: str, arg: str) -> bool:
    """``value`` as a bool, or torch's TypeError naming ``op`` and ``arg`` (``keepdim=1`` is refused, as there)."""
    if isinstance(value, (bool, xp.bool_)):
        return bool(value)
    raise TypeError(f"{op}(): argument '{arg}' must be bool, not {type(value).__name__}")


def unique_dims(dims: tuple, ndim: int, op: str) -> tuple:
    """``dims`` as non-negative axes (IndexError when out of range), refusing repeats as torch does."""
    out = tuple(_normalize_dim(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {list(dims)} appears multiple times in the list of dims")
    return out


def _dim_of(input: Tensor, dim: int, op: str) -> int:
    """``dim`` as an axis of a tensor that must have at least one dimension."""
    if input._data.ndim == 0:
        raise IndexError(f"{op}: expected a tensor with at least one dimension, got a 0-d tensor")
    return _normalize_dim(dim, input._data.ndim, op)


# -- slicing and constant padding: each is the other's VJP ------------------------------------------

class Slice(Primitive):
    """``x[index]`` for a tuple of ints and positive-step slices (a view, like torch's narrow and select)."""

    name = "slice"
    params = (Param("index", tuple, "ints and positive-step slices, one per leading dimension"),)
    doc = "``x[index]`` for ints and positive-step slices (a view)."
    expression = "{x}[{index}]"
    gate = "slice: the gradient goes back into the sliced positions, zeros elsewhere"
    batch_params = staticmethod(lambda size, p: {"index": (slice(None),) + p["index"]})

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape = x.shape
        return x[index]

    @staticmethod
    def vjp(ctx, g):
        return apply(ConstantPad, (g,), index=ctx.params["index"], shape=ctx.in_shape, value=0)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Slice, (x_t,), **ctx.params)


class ConstantPad(Primitive):
    """``shape`` filled with ``value``, holding ``x`` at ``index``: the transpose of :class:`Slice`."""

    name = "constant_pad_nd"
    params = (Param("index", tuple, "where x goes"), _SHAPE, Param("value", (int, float, bool), "the fill value"))
    doc = "An array of ``shape`` filled with ``value``, holding ``x`` at ``index``."
    gate = "pad: the gradient of the padded region is dropped; the rest is sliced back"
    batch_params = staticmethod(lambda size, p: {"index": (slice(None),) + p["index"], "shape": (size,) + p["shape"],
                                                 "value": p["value"]})

    @staticmethod
    def forward(ctx, x, index, shape, value):
        out = xp.full(shape, value, dtype=x.dtype)
        out[index] = x
        return out

    @staticmethod
    def vjp(ctx, g):
        return apply(Slice, (g,), index=ctx.params["index"])

    @staticmethod
    def jvp(ctx, x_t):
        return apply(ConstantPad, (x_t,), **{**ctx.params, "value": 0})


@public(methods=("narrow",))
def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The slice ``start : start + length`` of dimension ``dim`` (a view; ``start`` may be negative).

    Shapes: ``input (..., n, ...)`` -> ``(..., length, ...)``.

    Example::

        >>> chainrule.narrow(chainrule.arange(5), 0, 1, 3)
        tensor([1, 2, 3])
    """
    d = _dim_of(input, dim, "narrow")
    (start,), (length,) = int_tuple(start, "narrow", "start"), int_tuple(length, "narrow", "length")
    n = input._data.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start}) for dimension {dim} of shape {tuple(input._data.shape)}")
    start = start + n if start < 0 else start
    if length < 0:
        raise RuntimeError(f"narrow: length must be non-negative, got {length}")
    if start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}) of "
                           f"dimension {dim} in shape {tuple(input._data.shape)}")
    return apply(Slice, (input,), index=(slice(None),) * d + (slice(start, start + length),))


@public(methods=("select",))
def select(input: Tensor, dim: int, index) -> Tensor:
    """The slice at ``index`` of dimension ``dim``, that dimension removed (a view; ``index`` may be negative).

    Shapes: ``(a, n, b)``, dim 1 -> ``(a, b)``. Example::

        >>> chainrule.select(chainrule.tensor([[1, 2], [3, 4]]), 1, -1)
        tensor([2, 4])
    """
    if input._data.ndim == 0:
        raise IndexError("select(): cannot be applied to a 0-dim tensor.")
    d = _normalize_dim(dim, input._data.ndim, "select")
    (i,) = int_tuple(index, "select", "index")
    n = input._data.shape[d]
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(input._data.shape)} at "
                         f"dimension {d}")
    return apply(Slice, (input,), index=(slice(None),) * d + (i % n,))


class Flip(Primitive):
    name = "flip"
    params = (Param("dims", tuple, "the dimensions to reverse"),)
    doc = "``x`` with the order of elements reversed along ``dims`` (a copy)."
    expression = "{cr}flip({x}, {dims})"
    backward_code = ("{cr}flip({g}, {dims})",)
    gate = "flip: the gradient is flipped back"
    batch_params = staticmethod(lambda size, p: {"dims": shift(p["dims"])})

    @staticmethod
    def forward(ctx, x, dims):
        # NOTE: a copy, as in torch (flip is not a view), so in-place ops on the result leave the input alone.
        return xp.flip(x, dims).copy()

    @staticmethod
    def vjp(ctx, g):
        return apply(Flip, (g,), **ctx.params)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Flip, (x_t,), **ctx.params)


@public(methods=("flip",))
def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along each of ``dims`` (an int or a tuple; a copy, not a view).

    Example::

        >>> chainrule.flip(chainrule.tensor([[1, 2], [3, 4]]), (0, 1))
        tensor([[4, 3],
                [2, 1]])
    """
    dims = unique_dims(int_tuple(dims, "flip", "dims"), input._data.ndim, "flip")
    return apply(Flip, (input,), dims=dims if input._data.ndim else ())


@public(methods=("fliplr",))
def fliplr(input: Tensor) -> Tensor:
    """Reverse the columns (dimension 1) of a tensor of at least 2 dimensions (a copy)."""
    if input._data.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d, got shape {tuple(input._data.shape)}.")
    return flip(input, 1)


@public(methods=("flipud",))
def flipud(input: Tensor) -> Tensor:
    """Reverse the rows (dimension 0) of a tensor of at least 1 dimension (a copy)."""
    if input._data.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d, got a 0-d tensor.")
    return flip(input, 0)


@public(methods=("rot90",))
def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by ``k`` quarter turns in the plane of ``dims``, from the first dim towards the second.

    Shapes: ``dims`` sizes swap for odd ``k``. Example::

        >>> chainrule.rot90(chainrule.tensor([[1, 2], [3, 4]]))
        tensor([[2, 4],
                [1, 3]])
    """
    dims = int_tuple(dims, "rot90", "dims")
    n = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {n}")
    d0, d1 = (_normalize_dim(d, n, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    (k,) = int_tuple(k, "rot90", "k")
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return clone(input)


# -- diagonals and triangles -------------------------------------------------------------------------

class Diagonal(Primitive):
    name = "diagonal"
    params = (Param("offset", int, "which diagonal (above the main one if positive)"),
              Param("dim1", int, "the rows' dimension"), Param("dim2", int, "the columns' dimension"))
    doc = "The ``offset`` diagonal of the matrices over ``dim1`` and ``dim2``, as the last dimension."
    gate = "diagonal: the gradient goes back onto the diagonal, zeros elsewhere"
    batch_params = staticmethod(lambda size, p: {"offset": p["offset"], "dim1": p["dim1"] + 1, "dim2": p["dim2"] + 1})

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.in_shape = x.shape
        # NOTE: NumPy's diagonal is a read-only view; a copy keeps in-place ops on the result working.
        return xp.diagonal(x, offset, dim1, dim2).copy()

    @staticmethod
    def vjp(ctx, g):
        return apply(DiagEmbed, (g,), **ctx.params, shape=ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Diagonal, (x_t,), **ctx.params)


class DiagEmbed(Primitive):
    """Zeros of ``shape`` whose ``offset`` diagonal over ``(dim1, dim2)`` holds ``x`` (along its last dim)."""

    name = "diag_embed"
    params = Diagonal.params + (_SHAPE,)
    doc = "Zeros of ``shape`` whose ``offset`` diagonal over ``(dim1, dim2)`` holds ``x`` (along its last dim)."
    gate = "diag_embed: the gradient of the diagonal is read back off it"
    batch_params = staticmethod(lambda size, p: {"offset": p["offset"], "dim1": p["dim1"] + 1, "dim2": p["dim2"] + 1,
                                                 "shape": (size,) + p["shape"]})

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2, shape):
        out = xp.zeros(shape, dtype=x.dtype)
        i = xp.arange(x.shape[-1])
        xp.moveaxis(out, (dim1, dim2), (-2, -1))[..., i + max(-offset, 0), i + max(offset, 0)] = x
        return out

    @staticmethod
    def vjp(ctx, g):
        p = ctx.params
        return apply(Diagonal, (g,), offset=p["offset"], dim1=p["dim1"], dim2=p["dim2"])

    @staticmethod
    def jvp(ctx, x_t):
        return apply(DiagEmbed, (x_t,), **ctx.params)


@public(methods=("diagonal",))
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset`` diagonal of the matrices over ``dim1`` and ``dim2`` (above the main one if positive).

    Shapes: those two dims are removed and the diagonal, of length ``min`` of the shifted sizes, goes last.
    """
    n = input._data.ndim
    d1, d2 = _normalize_dim(dim1, n, "diagonal"), _normalize_dim(dim2, n, "diagonal")
    if n < 2 or d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 must be two different dims of a tensor with at least 2 "
                           f"dimensions, got {dim1} and {dim2} for shape {tuple(input._data.shape)}")
    return apply(Diagonal, (input,), offset=int_arg(offset, "diagonal", "offset"), dim1=d1, dim2=d2)


@public(methods=("diag",))
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D ``input`` becomes the ``diagonal``-th diagonal of a square matrix; a 2-D one gives that diagonal.

    Shapes: ``(n,)`` -> ``(n + |k|, n + |k|)``; ``(n, m)`` -> ``(length of the k-th diagonal,)``.
    """
    diagonal = int_arg(diagonal, "diag", "diagonal")
    if input._data.ndim == 1:
        size = input._data.shape[0] + abs(diagonal)
        return apply(DiagEmbed, (input,), offset=diagonal, dim1=0, dim2=1, shape=(size, size))
    if input._data.ndim == 2:
        return apply(Diagonal, (input,), offset=diagonal, dim1=0, dim2=1)
    raise RuntimeError(f"diag: supports 1D or 2D tensors, got {input._data.ndim}D (shape "
                       f"{tuple(input._data.shape)}); use diagonal() for batches")


@public(methods=("diag_embed",))
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices over ``(dim1, dim2)`` of the output whose ``offset`` diagonal holds the last dim of ``input``.

    Shapes: ``(..., n)`` -> one more dimension, with ``dim1`` and ``dim2`` of size ``n + |offset|``.

    Example::

        >>> chainrule.diag_embed(chainrule.tensor([1, 2]))
        tensor([[1, 0],
                [0, 2]])
    """
    shape = input._data.shape
    n = len(shape) + 1
    d1, d2 = _normalize_dim(dim1, n, "diag_embed"), _normalize_dim(dim2, n, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    (offset,) = int_tuple(offset, "diag_embed", "offset")
    size = (shape[-1] if shape else 1) + abs(offset)
    rest = iter(shape[:-1])
    out_shape = tuple(size if i in (d1, d2) else next(rest) for i in range(n))
    x = input if shape else reshape(input, (1,))
    return apply(DiagEmbed, (x,), offset=offset, dim1=d1, dim2=d2, shape=out_shape)


@public(methods=("diagflat",))
def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened ``input`` as the ``offset`` diagonal of a square matrix: ``(numel + |offset|,) * 2``."""
    return diag(flatten(input), offset)


def _triangle(input: Tensor, diagonal: int, op: str, lower: bool) -> Tensor:
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape {tuple(shape)}")
    n, m = shape[-2:]
    keep = xp.tri(n, m, diagonal, dtype=bool) if lower else ~xp.tri(n, m, diagonal - 1, dtype=bool)
    return where(_wrap(keep), input, _wrap(xp.zeros((), dtype=input._data.dtype)))


@public(methods=("tril",))
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below the ``diagonal``-th diagonal) of the last two dims; 0 elsewhere."""
    return _triangle(input, int_arg(diagonal, "tril", "diagonal"), "tril", True)


@public(methods=("triu",))
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (on and above the ``diagonal``-th diagonal) of the last two dims; 0 elsewhere."""
    return _triangle(input, int_arg(diagonal, "triu", "diagonal"), "triu", False)


@public(methods=("unflatten",))
def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one may be -1). Shapes: ``(a, n, b)`` -> ``(a, *sizes, b)``."""
    d = _dim_of(input, dim, "unflatten")
    sizes = int_tuple(sizes, "unflatten", "sizes")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    shape = input._data.shape
    sizes = _infer_shape(sizes, shape[d], "unflatten")
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


# -- broadcasting several tensors -------------------------------------------------------------------

def broadcast_shapes(*shapes) -> tuple:
    """The shape that tensors of ``shapes`` (ints or sequences of ints) broadcast to, as a ``Size``.

    Example::

        >>> chainrule.broadcast_shapes((2, 1), (3,))
        chainrule.Size([2, 3])
    """
    shapes = [int_tuple(s, "broadcast_shapes", "shapes") for s in shapes]
    out = []
    for i in range(1, max((len(s) for s in shapes), default=0) + 1):
        size = 1
        for s in shapes:
            if len(s) >= i and s[-i] != 1:
                if s[-i] < 0:
                    raise RuntimeError(f"broadcast_shapes: trying to create a tensor with negative dimension "
                                       f"{s[-i]}: {list(s)}")
                if size not in (1, s[-i]):
                    raise RuntimeError(f"broadcast_shapes: shape mismatch: objects cannot be broadcast to a "
                                       f"single shape (dimension {-i} is {size} in one shape and {s[-i]} in "
                                       f"{tuple(s)})")
                size = s[-i]
        out.append(size)
    return Size(reversed(out))


@public()
def broadcast_tensors(*tensors) -> tuple:
    """Broadcast ``tensors`` against each other: read-only views, all of the common shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"broadcast_tensors(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    shape = broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(broadcast_to(t, shape) for t in tensors)


method("flip")(lambda self, *dims: flip(self, dims[0] if len(dims) == 1 else dims))

__all__ = exports(__name__)
