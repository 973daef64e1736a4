"""Shape ops: reshape, broadcast, transpose, permute and the composites built on them.

Each is linear, so its JVP is the op applied to the tangent, and its VJP the inverse rearrangement.
``sum_to`` (the VJP of broadcasting) lives here as well: it is the one place broadcasting is undone.
"""

from __future__ import annotations

from .._backend import xp
from ..tensor import Tensor, _normalize_dim
from ._primitive import Primitive, apply, method

__all__ = ["reshape", "broadcast_to", "sum_to", "transpose", "swapaxes", "permute", "squeeze", "unsqueeze",
           "flatten", "clone", "t", "movedim", "ravel"]


def _shape_arg(shape) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` like torch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Reshape(Primitive):
    name = "reshape"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape, ctx.out_shape = x.shape, shape
        return x.reshape(shape)

    @staticmethod
    def vjp(ctx, g):
        return reshape(g, ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return reshape(x_t, ctx.out_shape)


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


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one dimension may be -1); ``view`` is the same op here."""
    shape = _infer_shape(_shape_arg(shape), input.data.size, "reshape")
    if shape == input.data.shape:
        return input
    return apply(Reshape, (input,), shape)


class BroadcastTo(Primitive):
    name = "expand"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape, ctx.out_shape = x.shape, shape
        return xp.broadcast_to(x, shape)

    @staticmethod
    def vjp(ctx, g):
        return sum_to(g, ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return broadcast_to(x_t, ctx.out_shape)


class SumTo(Primitive):
    """Sum a broadcast tensor back down to ``shape`` (leading dims and dims that were 1)."""

    name = "sum_to"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape, ctx.out_shape = x.shape, shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
        out = x.sum(axis=axes, keepdims=True) if axes else x
        return out.reshape(shape)

    @staticmethod
    def vjp(ctx, g):
        return broadcast_to(g, ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return sum_to(x_t, ctx.out_shape)


def broadcast_to(input: Tensor, *shape) -> Tensor:
    """A read-only broadcast view of ``input`` with ``shape``."""
    shape = _shape_arg(shape)
    if shape == input.data.shape:
        return input
    try:
        xp.broadcast_shapes(input.data.shape, shape)
        if len(shape) < input.data.ndim:
            raise ValueError
    except ValueError:
        raise RuntimeError(f"expand: the shape {tuple(input.data.shape)} cannot be expanded to {shape} (each "
                           "dimension must match or be 1, and new dimensions go in front)") from None
    return apply(BroadcastTo, (input,), shape)


@method("expand")
def expand(self: Tensor, *sizes) -> Tensor:
    """Broadcast to ``sizes``; -1 keeps a dimension as it is."""
    sizes = _shape_arg(sizes)
    lead = len(sizes) - self.data.ndim
    shape = tuple(self.data.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(self, shape)


def sum_to(input: Tensor, shape) -> Tensor:
    """Sum ``input`` down to ``shape``, undoing broadcasting (``shape`` must broadcast to ``input``'s shape)."""
    shape = tuple(shape)
    if shape == input.data.shape:
        return input
    return apply(SumTo, (input,), shape)


class Transpose(Primitive):
    name = "transpose"

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = (dim0, dim1)
        return xp.swapaxes(x, dim0, dim1)

    @staticmethod
    def vjp(ctx, g):
        return transpose(g, *ctx.dims)

    @staticmethod
    def jvp(ctx, x_t):
        return transpose(x_t, *ctx.dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    n = input.data.ndim
    d0, d1 = _normalize_dim(dim0, n, "transpose"), _normalize_dim(dim1, n, "transpose")
    if d0 == d1 or n < 2:
        return input
    return apply(Transpose, (input,), d0, d1)


swapaxes = transpose


class Permute(Primitive):
    name = "permute"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return xp.transpose(x, dims)

    @staticmethod
    def vjp(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return permute(g, tuple(inverse))

    @staticmethod
    def jvp(ctx, x_t):
        return permute(x_t, ctx.dims)


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the dimensions: ``out.shape[i] == input.shape[dims[i]]``."""
    dims = _shape_arg(dims)
    n = input.data.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute: number of dims {len(dims)} does not match the tensor's {n} dimensions "
                           f"(shape {tuple(input.data.shape)})")
    dims = tuple(_normalize_dim(d, n, "permute") for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    if dims == tuple(range(n)):
        return input
    return apply(Permute, (input,), dims)


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dimension(s) ``source`` to position(s) ``destination``."""
    n = input.data.ndim
    src = [_normalize_dim(d, n, "movedim") for d in ((source,) if isinstance(source, int) else source)]
    dst = [_normalize_dim(d, n, "movedim") for d in ((destination,) if isinstance(destination, int) else destination)]
    order = [d for d in range(n) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    shape = input.data.shape
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 1]
    else:
        dims = [_normalize_dim(d, input.data.ndim, "squeeze") for d in ((dim,) if isinstance(dim, int) else dim)]
    new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(input, new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    n = input.data.ndim + 1
    d = _normalize_dim(dim, n, "unsqueeze")
    shape = input.data.shape
    return reshape(input, shape[:d] + (1,) + shape[d:])


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one."""
    shape = input.data.shape
    if not shape:
        return reshape(input, (1,))
    s = _normalize_dim(start_dim, len(shape), "flatten")
    e = _normalize_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} cannot come after end_dim {end_dim}")
    return reshape(input, shape[:s] + (-1,) + shape[e + 1:])


def ravel(input: Tensor) -> Tensor:
    return reshape(input, (-1,))


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    if input.data.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but got {input.data.ndim}; use transpose "
                           "or mT for batches")
    return transpose(input, 0, 1) if input.data.ndim == 2 else input


class Clone(Primitive):
    name = "clone"

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def vjp(ctx, g):
        return g

    @staticmethod
    def jvp(ctx, x_t):
        return x_t


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of the data that stays in the graph."""
    return apply(Clone, (input,))


for _fn in (reshape, transpose, swapaxes, permute, squeeze, unsqueeze, flatten, clone, t, movedim, ravel):
    method(_fn.__name__)(_fn)
method("view")(reshape)
method("broadcast_to")(broadcast_to)
method("sum_to_size")(lambda self, *shape: sum_to(self, _shape_arg(shape)))
method("contiguous")(lambda self, memory_format=None: self)
method("view_as")(lambda self, other: reshape(self, other.data.shape))
method("reshape_as")(lambda self, other: reshape(self, other.data.shape))
method("expand_as")(lambda self, other: broadcast_to(self, other.data.shape))
Tensor.T = property(lambda self: permute(self, tuple(reversed(range(self.data.ndim)))),
                    doc="All dimensions reversed.")
Tensor.mT = property(lambda self: transpose(self, -2, -1), doc="The last two dimensions swapped (batched transpose).")
Tensor.H = Tensor.T
Tensor.mH = Tensor.mT


class Alias(Primitive):
    """The same data under a new tensor (a view); used by forward AD's ``make_dual``/``unpack_dual``."""

    name = "alias"

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def vjp(ctx, g):
        return g

    @staticmethod
    def jvp(ctx, x_t):
        return x_t
