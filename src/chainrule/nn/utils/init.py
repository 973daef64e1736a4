"""``skip_init``: build a module without initialising its parameters (torch's ``nn.utils.skip_init``)."""

from __future__ import annotations

import inspect


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` whose parameters and buffers hold uninitialised memory on ``device``
    (default ``'cpu'``): built on the meta device, then given storage with ``to_empty``. ``module_cls`` must take a
    ``device`` argument.

    Example::

        >>> layer = chainrule.nn.utils.skip_init(chainrule.nn.Linear, 5, 1)
        >>> layer.weight.shape
        chainrule.Size([1, 5])
    """
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=device)
