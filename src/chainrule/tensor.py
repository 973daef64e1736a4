"""Tensor: an array, its gradient and the node that produced it. No derivative maths lives here.

Operators and most methods are attached by the op modules (``chainrule.ops``), each next to the rule that
differentiates it; this file only holds state, conversions and the entry points into the engine.
"""

from __future__ import annotations

import math

from . import _backend, _dtype, _state
from ._backend import xp
from ._hooks import RemovableHandle


def _wrap(array, grad_fn=None, out_nr: int = 0, cls=None) -> Tensor:
    """Fast internal constructor: a tensor (of class ``cls``, a Tensor subclass) around ``array`` (no copy, no
    checks)."""
    t = _new(cls or Tensor)
    t._data = array
    t._grad = None
    t.grad_fn = grad_fn
    t.requires_grad = grad_fn is not None
    t._out_nr = out_nr
    t._vc = None
    t._hooks = None
    t._post_hooks = None
    t._fw = None
    t._readonly = False
    return t


_new = object.__new__


class Tensor:
    """A multi-dimensional array that records the ops applied to it so gradients can flow back.

    ``_data`` is the backend array (NumPy on the CPU; ``.numpy()`` hands it out, ``.data`` is a Tensor sharing
    it). ``grad_fn`` is the node that produced the tensor (None
    for leaves), ``requires_grad`` says whether gradients are wanted. Construct tensors with
    :func:`chainrule.tensor` and the other factories; ``Tensor(data)`` makes a float tensor as in torch.

    Example::

        >>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4.])
    """

    # _vc: the version counter [version, name of the last in-place op], shared with views and detached copies;
    # None until first needed (see _counter).
    # _fw: forward-AD tangents by level, or None. _post_hooks: a leaf's post-accumulate-grad hooks, or None.
    # _readonly: a view that must not be written in place (an expand, a slice of a recorded tensor, a shared
    # constant); kept here rather than in the array's flags, which not every array module has.
    __slots__ = ("_data", "_grad", "grad_fn", "requires_grad", "_out_nr", "_vc", "_hooks", "_post_hooks", "_fw",
                 "_readonly", "__weakref__")

    # NOTE: makes NumPy defer to our reflected operators (np.float64(2) * t calls t.__rmul__).
    __array_ufunc__ = None
    __hash__ = object.__hash__

    def __init__(self, *args, requires_grad: bool = False):
        if len(args) == 1 and not isinstance(args[0], int):
            array = xp.asarray(args[0], dtype=_dtype.get_default_dtype().np)
        else:
            array = xp.zeros(args, dtype=_dtype.get_default_dtype().np)
        self._data = array
        self._grad = None
        self.grad_fn = None
        self.requires_grad = False
        self._out_nr = 0
        self._vc = None
        self._hooks = None
        self._post_hooks = None
        self._fw = None
        self._readonly = False
        if requires_grad:
            self.requires_grad_(True)

    @property
    def data(self) -> Tensor:
        """This tensor's values as a tensor with no history that shares its storage, as ``torch.Tensor.data``.

        In-place changes through it update this tensor without being recorded or version-checked, which is what
        the lecture's manual update ``w.data -= lr * w.grad`` relies on. Assigning ``t.data = other`` makes ``t``
        use ``other``'s storage (same shape and dtype not required, as in torch).
        """
        t = _wrap(self._data)
        t._readonly = self._readonly
        if _state.vmap_level is not None:
            _state.vmap_level.detached(self, t)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: assigned value must be a Tensor, not {type(value).__name__}")
        self._data = value._data

    # -- metadata --------------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> _backend.device:
        return _backend.device_of(self._data)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        """The shape, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_normalize_dim(dim, self._data.ndim, "size")]

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    def nelement(self) -> int:
        return int(self._data.size)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_meta(self) -> bool:
        return self._data.__class__ is _backend.MetaArray

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    def ndimension(self) -> int:
        return self._data.ndim

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.size) * self._data.itemsize

    def is_signed(self) -> bool:
        return self._data.dtype.kind in "fi"

    def is_same_size(self, other: Tensor) -> bool:
        if not isinstance(other, Tensor):
            raise TypeError(f"is_same_size(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        return self._data.shape == other._data.shape

    def get_device(self) -> int:
        """-1 on the CPU, else the device index (as torch)."""
        return -1 if self.device.type == "cpu" else (self.device.index or 0)

    def is_nonzero(self) -> bool:
        """The one element as a bool; torch's RuntimeError for none or several."""
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with " + ("no values" if self._data.size == 0 else
                                                                  "more than one value") + " is ambiguous")
        return bool(self)

    def is_inference(self) -> bool:
        """False: ``inference_mode`` records no graph but marks no tensors (see ``_state.inference_mode``)."""
        return False

    def is_contiguous(self, memory_format=None) -> bool:
        """True: chainrule exposes no strided views (``contiguous()`` is the identity), see :meth:`stride`."""
        return True

    def stride(self, dim: int | None = None):
        """The strides of a contiguous tensor of this shape, in elements (a size-0 dimension counts as 1, as in
        torch); chainrule reports every tensor as contiguous, transposed views included."""
        strides, step = [], 1
        for n in reversed(self._data.shape):
            strides.append(step)
            step *= max(n, 1)
        strides = tuple(reversed(strides))
        return strides if dim is None else strides[_normalize_dim(dim, self._data.ndim, "stride")]

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    def _counter(self) -> list:
        """This tensor's version counter, made on first need.

        NOTE: most tensors are never written in place, viewed or saved for backward with their counter, so
        they never get one: one allocation less per op, and one object less per saved tensor for the garbage
        collector to walk in a deep graph.
        """
        counter = self._vc
        if counter is None:
            counter = self._vc = [0, None]
        return counter

    # -- gradients -------------------------------------------------------------------------------------
    @property
    def grad(self):
        """The accumulated gradient (leaves, and non-leaves that called ``retain_grad()``)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size: {tuple(value.shape)} for a "
                                   f"tensor of shape {tuple(self.shape)}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"assigned grad has dtype {value.dtype}; the tensor is {self.dtype}")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf (only floating tensors can require gradients)."""
        if not self.is_leaf:
            if not requires_grad:
                raise RuntimeError("requires_grad_(False): you can only change requires_grad flags of leaf "
                                   "tensors; use .detach() to get a tensor without history")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only tensors of floating point dtype can require gradients, "
                               f"got {self.dtype}; convert first, e.g. x.float()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn.retain(self._out_nr, self)

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return bool(node is not None and node.retained and self._out_nr in node.retained)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces the gradient."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.add_hook(self._out_nr, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` right after backward has accumulated this leaf's ``.grad`` (as torch).

        The engine accumulates a leaf's gradient as soon as every path into it is done, so the hook runs while
        the rest of the backward pass is still to come; ``DistributedDataParallel`` starts its all-reduces here.
        The hook returns None and may change ``self.grad`` in place.

        Example::

            >>> w = chainrule.ones(3, requires_grad=True)
            >>> handle = w.register_post_accumulate_grad_hook(lambda t: t.grad.mul_(0.5))
            >>> (2 * w).sum().backward()
            >>> w.grad
            tensor([1., 1., 1.])
        """
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered "
                               f"on non-leaf tensors (this one comes from {self.grad_fn.op.name})")
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return RemovableHandle(self._post_hooks, hook)

    def detach(self) -> Tensor:
        """The same data with no history (shares memory, as in torch)."""
        t = _wrap(self._data)
        t._vc = self._counter()
        t._readonly = self._readonly
        if _state.vmap_level is not None:
            _state.vmap_level.detached(self, t)
        return t

    def detach_(self) -> Tensor:
        if _state.vmap_level is not None:
            _state.vmap_level.detached(self, self)
        self.grad_fn = None
        self.requires_grad = False
        return self

    # -- conversions -----------------------------------------------------------------------------------
    def numpy(self, *, force: bool = False):
        """The data as a NumPy array (shares memory)."""
        if self.requires_grad and not force:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; use "
                               "tensor.detach().numpy() instead")
        self._check_read(".numpy()")
        if self._data.__class__ is not _backend.ndarray and self.device.type == "cuda":
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy the "
                            "tensor to host memory first.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def _check_read(self, what: str) -> None:
        """Refuse reading this tensor's values inside vmap when it stands for a batch (see func.batching), and
        on the "meta" device, which has none."""
        if self._data.__class__ is _backend.MetaArray and what != "printing":
            raise NotImplementedError(f"Cannot copy out of meta tensor; no data! ({what} on a tensor of shape "
                                      f"{tuple(self._data.shape)} on the meta device; move the module or tensor to "
                                      "a real device with to_empty(device=...) first)")
        if _state.vmap_level is not None:
            _state.vmap_level.check_read(self, what)
        elif _state.interpreter is not None:
            _state.interpreter.check_read(self, what)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        self._check_read(".item()")
        if self._data.size != 1:
            raise RuntimeError(f"item: a tensor with {self._data.size} elements cannot be converted to a Python "
                               "number; only one-element tensors can")
        return self._data.reshape(()).item()

    def tolist(self):
        self._check_read(".tolist()")
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        self._check_read("data-dependent control flow (bool(tensor), `if tensor:`)")
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __repr__(self) -> str:
        """torch's print format: ``tensor(0.2350)``, ``tensor([1., 2.], dtype=chainrule.float64)``, the
        ``requires_grad=True`` / ``grad_fn=<...>`` suffix; ``set_printoptions`` sets precision and summarizing."""
        self._check_read("printing")
        return _tensor_repr(self)

    def __reduce__(self):
        self._check_read("pickling")
        return (_rebuild, (self._data, self.requires_grad))

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return repr(self)


# -- printing, as torch's ``_tensor_str`` -----------------------------------------------------------------

_PROFILES = {"default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
             "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
             "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80}}
PRINT_OPTIONS = dict(_PROFILES["default"], sci_mode=None)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Set how tensors print, as ``torch.set_printoptions``.

    ``precision``: digits after the point (4); ``threshold``: elements above which a tensor is summarized with
    ``...`` (1000); ``edgeitems``: items kept at each end of a summarized dimension (3); ``linewidth``: characters
    per line (80); ``profile``: ``'default'``, ``'short'`` (precision 2, 2 edge items) or ``'full'`` (never
    summarize), applied first; ``sci_mode``: True/False forces scientific notation on/off, None (the default, and
    what every call without it restores) chooses it from the values.

    Example::

        >>> chainrule.set_printoptions(precision=2)
        >>> chainrule.tensor([1.12345])
        tensor([1.12])
        >>> chainrule.set_printoptions(profile="default")
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}; expected one of {sorted(_PROFILES)}")
        PRINT_OPTIONS.update(_PROFILES[profile])
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            PRINT_OPTIONS[key] = value
    PRINT_OPTIONS["sci_mode"] = sci_mode


class _Formatter:
    """One width and notation for every element of a tensor (torch's ``_Formatter``): integer-valued floats as
    ``1.``, scientific when the finite non-zero magnitudes span more than 1000x or leave [1e-4, 1e8]."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            self.width = max([len(str(v)) for v in values.reshape(-1).tolist()] + [1])
            return
        finite = values[xp.isfinite(values) & (values != 0)]
        if not finite.size:
            return
        magnitude = xp.abs(finite.astype(xp.float64))
        low, high = magnitude.min(), magnitude.max()
        self.int_mode = bool((finite == xp.ceil(finite)).all())
        chosen = PRINT_OPTIONS["sci_mode"]
        self.sci_mode = bool(high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4) if chosen is None else chosen
        self.width = max(len(self.format(v)) for v in finite.tolist())

    def format(self, value) -> str:
        precision = PRINT_OPTIONS["precision"]
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:.{precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("." if math.isfinite(value) else "")
        else:
            text = f"{value:.{precision}f}"
        return text.rjust(self.width)


def _summarized(a):
    """The elements a summarized print shows (``edgeitems`` at each end of every dim), for the formatter."""
    edge = PRINT_OPTIONS["edgeitems"]
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return xp.concatenate([a[:edge], a[-edge:]]) if len(a) > 2 * edge else a
    if not edge:
        return a[:0]
    rows = list(a[:edge]) + list(a[-edge:]) if len(a) > 2 * edge else list(a)
    return xp.stack([_summarized(r) for r in rows])


def _array_str(a, indent: int, summarize: bool, fmt: _Formatter) -> str:
    edge = PRINT_OPTIONS["edgeitems"]
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        per_line = max(1, math.floor((PRINT_OPTIONS["linewidth"] - indent) / (fmt.width + 2)))
        if summarize and not edge:
            items = ["..."]
        elif summarize and len(a) > 2 * edge:
            items = [fmt.format(v) for v in a[:edge].tolist()] + [" ..."] + [
                fmt.format(v) for v in a[-edge:].tolist()]
        else:
            items = [fmt.format(v) for v in a.tolist()]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    if summarize and len(a) > 2 * edge:
        rows = [_array_str(a[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."] + [
            _array_str(a[i], indent + 1, summarize, fmt) for i in range(len(a) - edge, len(a))]
    else:
        rows = [_array_str(r, indent + 1, summarize, fmt) for r in a]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _tensor_repr(t: Tensor) -> str:
    a, d, prefix = t._data, t.dtype, "tensor("
    indent, suffixes = len(prefix), []
    device = _backend.device_of(a)
    if device.type != "cpu":
        suffixes.append(f"device='{device}'")
    if device.type == "meta":
        suffixes.append(f"size={tuple(a.shape)}")
        if d is not _dtype.get_default_dtype():
            suffixes.append(f"dtype={d}")
        body = "..."
    elif a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if d is not _dtype.get_default_dtype():
            suffixes.append(f"dtype={d}")
        body = "[]"
    else:
        if not PRINT_OPTIONS["edgeitems"]:
            suffixes.append(f"size={tuple(a.shape)}")
        if d not in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool):
            suffixes.append(f"dtype={d}")
        a = _backend.to_device(a, _backend.device("cpu"))
        summarize = a.size > PRINT_OPTIONS["threshold"]
        body = _array_str(a, indent, summarize, _Formatter(_summarized(a) if summarize else a))
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.op.backward_name}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    tangent = t._fw.get(_state.forward_levels[-1]) if t._fw and _state.forward_levels else None
    if tangent is not None:
        suffixes.append(f"tangent={tangent!r}")
    out = prefix + body
    last_line = len(out) - out.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > PRINT_OPTIONS["linewidth"]:
            out += ",\n" + " " * indent + suffix
            last_line = indent + len(suffix)
        else:
            out += ", " + suffix
            last_line += len(suffix) + 2
    return out + ")"


def _rebuild(array, requires_grad):
    t = _wrap(array)
    t.requires_grad = requires_grad
    return t


class Size(tuple):
    """A tensor shape: a tuple that prints like ``chainrule.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-dimensional tensor, or a clear IndexError naming ``op``."""
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
                         f"but got {dim})")
    return dim % rank


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)
