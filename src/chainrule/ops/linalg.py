"""Matrix products."""

from __future__ import annotations

from .._backend import xp
from ..tensor import Tensor
from ._primitive import Primitive, apply, method, promote
from .shape import reshape, sum_to, transpose

__all__ = ["matmul"]


class MatMul(Primitive):
    """``x @ y`` for 1-D, 2-D and batched (broadcasting) operands, as ``numpy.matmul``."""

    name = "matmul"
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y):
        return x @ y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx.inputs
        need_x, need_y = ctx.next[0] is not None, ctx.next[1] is not None
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
            gx = reshape(sum_to(matmul(g2, transpose(y2, -1, -2)), x2.data.shape), x.data.shape)
        if need_y:
            gy = reshape(sum_to(matmul(transpose(x2, -1, -2), g2), y2.data.shape), y.data.shape)
        return gx, gy

    @staticmethod
    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return matmul(x_t, y) + matmul(x, y_t)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with numpy/torch semantics: 1-D operands are vectors, leading dims broadcast."""
    x, y = promote(input, other, "matmul")
    xs, ys = x.data.shape, y.data.shape
    if not xs or not ys:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes {tuple(xs)} and "
                           f"{tuple(ys)}")
    inner_x = xs[-1]
    inner_y = ys[-2] if len(ys) > 1 else ys[0]
    if inner_x != inner_y:
        raise RuntimeError(f"matmul: cannot multiply shapes {tuple(xs)} and {tuple(ys)} ({inner_x} != {inner_y})")
    if len(xs) > 2 or len(ys) > 2:
        try:
            xp.broadcast_shapes(xs[:-2], ys[:-2])
        except ValueError:
            raise RuntimeError(f"matmul: batch dimensions of shapes {tuple(xs)} and {tuple(ys)} cannot be "
                               "broadcast together") from None
    return apply(MatMul, (x, y))


method("matmul")(matmul)
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
