"""``chainrule.nn``: modules, layers, losses, initialisation and utilities, mirroring ``torch.nn``.

Example::

    >>> import chainrule
    >>> from chainrule import nn
    >>> model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    >>> loss = nn.CrossEntropyLoss()(model(chainrule.randn(8, 64)), chainrule.randint(0, 10, (8,)))
    >>> loss.backward()
"""

from . import functional, init, parallel, parameter, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parameter import Parameter

__all__ = ["Parameter", "functional", "init", "parallel", "utils"] + _modules_all
