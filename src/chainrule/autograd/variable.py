"""``chainrule.autograd.Variable``: torch's pre-0.4 wrapper, kept importable because published code still uses it.

NOTE: this is the one deliberate compatibility name in chainrule (STYLE.md forbids deprecation shims of our
own): torch itself still ships ``Variable``, so ``from torch.autograd import Variable`` must keep working when
``import chainrule as torch``. It makes plain tensors, exactly as torch's does.
"""

from __future__ import annotations

import warnings

from ..creation import empty
from ..tensor import Tensor


class _VariableMeta(type):
    # NOTE: every tensor is a Variable in torch (isinstance(torch.ones(1), Variable) is True), so old
    # ``isinstance(x, Variable)`` checks keep accepting tensors.
    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableMeta):
    """Deprecated: returns a :class:`Tensor` sharing ``data``'s memory, with no history.

    ``Variable(data, requires_grad=False, volatile=False)`` is ``data.detach().requires_grad_(requires_grad)``;
    ``Variable()`` is an empty tensor. ``volatile`` has no effect (use ``chainrule.no_grad()``), as in torch.

    Args:
        data (Tensor): the tensor to wrap, of any shape ``(*)``; the result has the same shape.
        requires_grad (bool): make the result a leaf that records operations.

    Example::

        >>> from chainrule.autograd import Variable
        >>> x = Variable(chainrule.ones(3), requires_grad=True)
        >>> (x * 2).sum().backward(); x.grad
        tensor([2., 2., 2.])
    """

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with chainrule.no_grad():` instead.",
                          UserWarning, stacklevel=2)
        if data is None:
            data = empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(bool(requires_grad))
