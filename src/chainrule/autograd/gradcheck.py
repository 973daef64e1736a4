"""Finite-difference checks of gradients: ``gradcheck`` and ``gradgradcheck``, as in torch.autograd.

Central differences in float64 give the numerical Jacobian column by column; the engine gives the analytical
one row by row (one VJP per output element). A mismatch names the output, the input and the element.
"""

from __future__ import annotations

import warnings

from .._backend import xp
from ..tensor import Tensor, _wrap
from .engine import grad as autograd_grad


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical derivatives disagree."""


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs) -> tuple:
    return tuple(o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor))


def _numerical_jacobians(fn, inputs: tuple, targets: list, eps: float) -> list:
    """For each target input, a list (per output) of Jacobians of shape (input.numel(), output.numel())."""
    # NOTE: fn runs with grad mode on: gradgradcheck's fn itself calls autograd.grad.
    result = []
    outs = _outputs(fn, inputs)
    for i in targets:
        flat = inputs[i]._data.reshape(-1)
        jac = [xp.zeros((flat.size, o._data.size)) for o in outs]
        for k in range(flat.size):
            original = flat[k].copy()
            flat[k] = original + eps
            plus = [o._data.astype(xp.float64).reshape(-1) for o in _outputs(fn, inputs)]
            flat[k] = original - eps
            minus = [o._data.astype(xp.float64).reshape(-1) for o in _outputs(fn, inputs)]
            flat[k] = original
            for j in range(len(outs)):
                jac[j][k] = (plus[j] - minus[j]) / (2 * eps)
        result.append(jac)
    return result


def _analytical_jacobians(fn, inputs: tuple, targets: list) -> list:
    outs = _outputs(fn, inputs)
    wrt = [inputs[i] for i in targets]
    jac = [[xp.zeros((x._data.size, o._data.size)) for o in outs] for x in wrt]
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for k in range(o._data.size):
            seed = xp.zeros(o._data.size, dtype=o._data.dtype)
            seed[k] = 1
            grads = autograd_grad(o, wrt, _wrap(seed.reshape(o._data.shape)), retain_graph=True, allow_unused=True)
            for i, g in enumerate(grads):
                if g is not None:
                    jac[i][j][:, k] = g._data.reshape(-1)
    return jac


def gradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              fast_mode: bool = False) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    ``inputs``: a tensor or a tuple of them; those with ``requires_grad=True`` are checked (use float64).
    Returns True, or raises :class:`GradcheckError` (False with ``raise_exception=False``) naming the output,
    input and element where ``|analytical - numerical| > atol + rtol * |numerical|``.
    """
    inputs = _as_tuple(inputs)
    targets = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not targets:
        raise ValueError("gradcheck: expected at least one input tensor with requires_grad=True")
    for i in targets:
        if inputs[i]._data.dtype != xp.float64:
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not float64; finite differences will be "
                          "inaccurate", stacklevel=2)
    numerical = _numerical_jacobians(fn, inputs, targets, eps)
    analytical = _analytical_jacobians(fn, inputs, targets)
    for ti, i in enumerate(targets):
        for j, (a, n) in enumerate(zip(analytical[ti], numerical[ti])):
            bad = xp.abs(a - n) > atol + rtol * xp.abs(n)
            if bad.any():
                k, m = (int(v) for v in xp.argwhere(bad)[0])
                message = (f"gradcheck: Jacobian mismatch for output {j} with respect to input {i} at input element "
                           f"{k}, output element {m}: analytical {a[k, m]:.8g} vs numerical {n[k, m]:.8g}\n"
                           f"analytical:\n{a}\nnumerical:\n{n}")
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, fast_mode: bool = False) -> bool:
    """Check second derivatives: gradcheck of ``v -> d(fn)/d(inputs) . v`` built with ``create_graph=True``."""
    inputs = _as_tuple(inputs)
    targets = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = xp.random.default_rng(0)
        grad_outputs = tuple(_wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype)).requires_grad_(True)
                             for o in outs if o.requires_grad)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_derivatives(*args):
        xs, vs = args[:n_in], args[n_in:]
        ys = [o for o in _outputs(fn, xs) if o.requires_grad]
        wrt = [xs[i] for i in targets]
        grads = autograd_grad(ys, wrt, vs, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
