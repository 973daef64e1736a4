"""Bad arguments fail at the boundary with torch's exception types (issue 17, item 7).

Every public callable — the ops and creation/random functions of ``chainrule``, ``chainrule.nn.functional``,
``chainrule.linalg``, the module constructors of ``chainrule.nn`` and the optimizers' constructors — is called
with one (sometimes two) of its arguments replaced by a hostile value: None, a string, a tuple, nan/inf/huge/
negative numbers and sizes, wrong-dtype, 0-size, 0-d and meta-device tensors. The other arguments are plausible
values chosen from the parameter's name. A call may succeed (torch accepts many odd values) or raise
TypeError, ValueError, RuntimeError or IndexError (NotImplementedError is a RuntimeError); anything else
(AttributeError, OverflowError, MemoryError, ZeroDivisionError from deep inside) fails the test with the call.
A hostile size must be refused, never attempted: a call that runs longer than a few seconds fails too.
"""

from __future__ import annotations

import inspect
import signal
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
import chainrule.optim as optim

ALLOWED = (TypeError, ValueError, RuntimeError, IndexError)
SECONDS = 5

# NOTE: where torch itself raises AssertionError (its `assert`s on attention shapes, embedding indices), the
# same type is kept, so that code written against torch catches what it expects.
TORCH_ASSERTS = {"F.multi_head_attention_forward", "F.embedding", "nn.Embedding", "nn.EmbeddingBag",
                 "nn.MultiheadAttention", "nn.Transformer", "nn.TransformerEncoderLayer", "nn.TransformerDecoderLayer"}

# Arguments not yet validated, by (callable, parameter): left out of the sweep until fixed at their source.
KNOWN_GAPS: dict = {}

# Small sizes for the parameters of heavy modules that are not the hostile one (a default Transformer has 44M
# parameters: building it per example would dominate the run).
SMALL = {"d_model": 4, "nhead": 2, "dim_feedforward": 8, "num_encoder_layers": 1, "num_decoder_layers": 1}

# Hostile values, each made fresh per call (in-place ops may write into a tensor).
HOSTILE = {
    "None": lambda: None,
    "str": lambda: "a",
    "empty tuple": lambda: (),
    "nan": lambda: float("nan"),
    "inf": lambda: float("inf"),
    "-inf": lambda: float("-inf"),
    "huge": lambda: 10**20,
    "negative": lambda: -7,
    "float": lambda: 1.5,
    "bool": lambda: True,
    "list of None": lambda: [None],
    "object": lambda: object(),
    "inf size": lambda: (float("inf"), 2),
    "huge size": lambda: (10**20, 2),
    "negative size": lambda: (-7, 2),
    "str size": lambda: ("a",),
    "0-size tensor": lambda: cr.zeros(0),
    "0-d tensor": lambda: cr.tensor(1.5),
    "int tensor": lambda: cr.tensor([1, 2]),
    "bool tensor": lambda: cr.tensor([True, False]),
    "float64 tensor": lambda: cr.ones(3, 3, dtype=cr.float64),
    "meta tensor": lambda: cr.empty(3, 3, device="meta"),
    "nan tensor": lambda: cr.full((3, 3), float("nan")),
}

# Plausible values for required parameters, by name, so that the hostile one is what the callee meets.
_PLAUSIBLE = {
    **dict.fromkeys(("dim", "dim0", "dim1", "start_dim", "axis", "source", "destination"), lambda: 0),
    **dict.fromkeys(("end_dim",), lambda: -1),
    **dict.fromkeys(("dims", "shape", "size", "sizes", "output_size", "normalized_shape"), lambda: (3, 3)),
    **dict.fromkeys(("kernel_size", "chunks", "sections", "split_size", "split_size_or_sections", "repeats",
                     "k", "n", "m", "steps", "num_classes", "groups", "upscale_factor", "downscale_factor",
                     "in_features", "out_features", "in_channels", "out_channels", "num_features",
                     "num_embeddings", "embedding_dim", "hidden_size", "input_size", "d_model", "nhead",
                     "embed_dim", "num_heads", "num_groups", "num_channels", "row", "col", "high", "end",
                     "window_length", "stride", "padding", "in1_features", "in2_features", "diagonal",
                     "offset", "shifts", "length", "step", "lambd", "threshold", "value", "p", "start"),
                    lambda: 2),
    **dict.fromkeys(("tensors", "inputs", "operands"), lambda: [cr.randn(3, 3), cr.randn(3, 3)]),
    **dict.fromkeys(("index", "indices"), lambda: cr.tensor([[0, 1, 2], [2, 1, 0], [0, 0, 0]])),
    **dict.fromkeys(("target", "labels"), lambda: cr.tensor([0, 1, 2])),
    "equation": lambda: "ij,jk->ik",
    "params": lambda: [cr.randn(3, requires_grad=True)],
    "cutoffs": lambda: [2],
    "n_classes": lambda: 4,
    "in_features_": lambda: 3,
}


def _plausible(param: inspect.Parameter):
    make = _PLAUSIBLE.get(param.name)
    return make() if make is not None else cr.randn(3, 3)


class _Call:
    """One public callable and the argument slots a hostile value may take."""

    def __init__(self, label: str, fn):
        self.label, self.fn = label, fn
        try:
            self.params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            self.params = [inspect.Parameter(f"arg{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(3)]
        positional = [p for p in self.params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.var_positional = any(p.kind == p.VAR_POSITIONAL for p in self.params)
        self.positional = positional
        keywords = [p.name for p in self.params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                    and not p.name.startswith("_")
                    and p.default is not p.empty]
        slots = [("pos", i) for i in range(max(len([p for p in positional if p.default is p.empty]), 1))]
        if label.startswith("Tensor."):
            slots = slots[1:]  # NOTE: a method's self stays a tensor
        if self.var_positional:
            slots.append(("pos", len(positional)))
        slots += [("kw", name) for name in keywords]
        names = [p.name for p in positional]
        self.slots = [slot for slot in dict.fromkeys(slots)
                      if (label, names[slot[1]] if slot[0] == "pos" and slot[1] < len(names) else slot[1])
                      not in KNOWN_GAPS]
        self.small = {name: size for name, size in SMALL.items() if name in keywords}

    def arguments(self, hostile: dict) -> tuple:
        """Positional and keyword arguments: plausible values with the ``hostile`` slots replaced."""
        args = []
        required = [p for p in self.positional if p.default is p.empty]
        width = max([i + 1 for kind, i in hostile if kind == "pos"] + [len(required)])
        for i in range(width):
            if ("pos", i) in hostile:
                args.append(hostile[("pos", i)]())
            elif i < len(self.positional):
                p = self.positional[i]
                args.append(_plausible(p) if p.default is p.empty else p.default)
            else:
                args.append(2)
        kwargs = {name: size for name, size in self.small.items()
                  if name not in [p.name for p in self.positional[:width]]}
        kwargs.update({name: make() for (kind, name), make in hostile.items() if kind == "kw"})
        kwargs.update({p.name: _plausible(p) for p in self.params
                       if p.kind == p.KEYWORD_ONLY and p.default is p.empty and p.name not in kwargs})
        return args, kwargs


def _callables() -> list:
    """Every public callable of the namespaces, as (label, function)."""
    skip = {"set_default_dtype", "set_default_device", "manual_seed", "seed", "set_rng_state",
            "set_printoptions", "set_num_threads", "set_num_interop_threads", "compile", "explain", "vmap",
            "save", "load", "frombuffer"}
    out = []
    names = list(cr.ops.__all__) + list(cr.creation.__all__) + ["bernoulli", "multinomial", "normal", "poisson",
                                                                "broadcast_shapes"]
    for name in dict.fromkeys(names):
        if name not in skip:
            out.append((f"chainrule.{name}", getattr(cr, name)))
    out += [(f"F.{name}", getattr(F, name)) for name in F.__all__]
    out += [(f"linalg.{name}", getattr(cr.linalg, name)) for name in cr.linalg.__all__]
    for name in sorted(dir(nn)):
        cls = getattr(nn, name)
        if isinstance(cls, type) and issubclass(cls, nn.Module) and cls is not nn.Module:
            out.append((f"nn.{name}", cls))
    methods_skip = {"backward", "register_hook", "register_post_accumulate_grad_hook", "apply_", "map_",
                    "share_memory_", "pin_memory", "record_stream", "cuda", "storage", "untyped_storage"}
    for name in sorted(dir(cr.Tensor)):
        fn = getattr(cr.Tensor, name)
        if not name.startswith("_") and name not in methods_skip and inspect.isfunction(fn):
            out.append((f"Tensor.{name}", fn))
    for name in sorted(dir(optim)):
        cls = getattr(optim, name)
        if isinstance(cls, type) and issubclass(cls, optim.Optimizer) and cls is not optim.Optimizer:
            out.append((f"optim.{name}", cls))
    return [(label, fn) for label, fn in out if callable(fn)]


CALLS = [call for call in (_Call(label, fn) for label, fn in _callables()) if call.slots]
FUNCTIONS = [call for call in CALLS if not call.label.startswith("Tensor.")]
METHODS = [call for call in CALLS if call.label.startswith("Tensor.")]


class _TookTooLong(Exception):
    pass


def _alarm(signum, frame):
    raise _TookTooLong(f"still running after {SECONDS} s")


def call_hostile(call: _Call, hostile: dict):
    """Run one hostile call; return None when it succeeded or raised an allowed error, else a description."""
    args, kwargs = call.arguments(hostile)
    shown = f"{call.label}(*{args!r:.200}, **{kwargs!r:.200})"
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call.fn(*args, **kwargs)
    except ALLOWED:
        return None
    except AssertionError:
        if call.label in TORCH_ASSERTS:
            return None
        return f"{shown} raised AssertionError"
    except Exception as e:  # noqa: BLE001 - the point of the test: nothing else may escape
        return f"{shown} raised {type(e).__name__}: {e}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return None


def _sweep(call, data):
    slots = data.draw(st.lists(st.sampled_from(call.slots), min_size=1, max_size=2, unique=True), label="slots")
    hostile = {slot: HOSTILE[data.draw(st.sampled_from(sorted(HOSTILE)), label=str(slot))] for slot in slots}
    problem = call_hostile(call, hostile)
    assert problem is None, problem


@pytest.mark.parametrize("call", FUNCTIONS, ids=[c.label for c in FUNCTIONS])
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_arguments_raise_torch_exception_types(call, data):
    _sweep(call, data)


# NOTE: most methods are the public functions again (their arguments checked above), so fewer examples each.
@pytest.mark.parametrize("call", METHODS, ids=[c.label for c in METHODS])
@settings(max_examples=4, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_method_arguments_raise_torch_exception_types(call, data):
    _sweep(call, data)


def test_every_namespace_is_swept():
    labels = {c.label for c in CALLS}
    assert {"chainrule.reshape", "chainrule.zeros", "F.conv2d", "linalg.solve", "nn.Linear", "optim.SGD",
            "Tensor.view"} <= labels
    assert len(CALLS) > 500


_t = cr.randn(3, 3)
MESSAGES = [
    (lambda: cr.reshape(_t, float("inf")), TypeError, "reshape: argument 'shape'"),
    (lambda: _t.expand(10**20, 3), ValueError, "expand: argument 'size' overflows int64"),
    (lambda: cr.permute(_t, (float("nan"), 0)), TypeError, "permute: argument 'dims'"),
    (lambda: cr.tril(_t, float("inf")), TypeError, "tril: argument 'diagonal'"),
    (lambda: cr.zeros(10**20), ValueError, "overflows int64"),
    (lambda: cr.zeros_like(None), TypeError, "zeros_like(): argument 'input' (position 1) must be Tensor"),
    (lambda: cr.broadcast_tensors(_t, None), TypeError, "expected Tensor as element 1"),
    (lambda: cr.arange(float("inf")), RuntimeError, "arange: unsupported range"),
    (lambda: cr.full((2,), 10**20), RuntimeError, "without overflow"),
    (lambda: cr.sum(_t, 0, keepdim=1), TypeError, "sum(): argument 'keepdim' must be bool, not int"),
    (lambda: cr.tensor([1, 2]) + 10**20, RuntimeError, "cannot be converted to type int64 without overflow"),
    (lambda: cr.clamp(_t, min=(1, 2)), TypeError, "clamp(): argument 'min' must be Number or Tensor"),
    (lambda: F.max_pool1d(cr.randn(1, 1, 4), 2, stride=10**20), ValueError, "max_pool1d"),
    (lambda: F.layer_norm(_t, (3,), weight="a"), TypeError, "layer_norm(): argument 'weight'"),
    (lambda: nn.RNN(2, 2, num_layers=10**20), ValueError, "num_layers"),
    (lambda: nn.Embedding(3, 2, padding_idx=float("nan")), TypeError, "padding_idx"),
]


@pytest.mark.parametrize("make, error, message", MESSAGES, ids=[m[2][:40] for m in MESSAGES])
def test_boundary_errors_name_the_function_and_argument(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert message in str(info.value)
