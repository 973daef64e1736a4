"""Function transforms, mirroring ``torch.func``: derivatives as functions that compose and nest.

``grad``, ``grad_and_value``, ``vjp`` and ``jacrev`` use reverse mode; ``jvp`` and ``jacfwd`` forward mode
(dual tensors); ``hessian`` is reverse-over-reverse and ``linearize`` records a graph once to push many
tangents through it. ``vmap`` vectorises a function over a batch dimension, and ``functional_call`` /
``stack_module_state`` turn modules into functions of their weights. Inputs and outputs may be tensors or
tuples/lists/dicts of them (``pytree``).

Example::

    >>> from chainrule.func import grad
    >>> grad(grad(chainrule.sin))(chainrule.tensor(1.0))   # -sin(1)
    tensor(-0.8415)
"""

from .functional_call import functional_call, stack_module_state
from .jacobian import hessian, jacfwd, jacrev
from .pytree import tree_flatten, tree_map, tree_unflatten
from .transforms import grad, grad_and_value, jvp, linearize, vjp
from .vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian", "vmap",
           "functional_call", "stack_module_state", "tree_flatten", "tree_unflatten", "tree_map"]
