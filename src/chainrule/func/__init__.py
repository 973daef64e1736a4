"""Function transforms, mirroring ``torch.func``: derivatives as functions that compose and nest.

``grad``, ``grad_and_value``, ``vjp`` and ``jacrev`` use reverse mode; ``jvp`` and ``jacfwd`` forward mode
(dual tensors); ``hessian`` is reverse-over-reverse and ``linearize`` records a graph once to push many
tangents through it. Inputs and outputs may be tensors or tuples/lists/dicts of them (``pytree``).

Example::

    >>> from chainrule.func import grad
    >>> grad(grad(chainrule.sin))(chainrule.tensor(1.0))   # -sin(1)
    tensor(-0.8415)
"""

from .jacobian import hessian, jacfwd, jacrev
from .pytree import tree_flatten, tree_map, tree_unflatten
from .transforms import grad, grad_and_value, jvp, linearize, vjp

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian", "tree_flatten",
           "tree_unflatten", "tree_map"]
