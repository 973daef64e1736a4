"""Recurrent layers: RNN, LSTM, GRU and their cells.

Every layer is a composite of matmuls, sigmoid, tanh, slices and cats, so gradients of any order, forward
mode and vmap need no rules of their own. Parameters are named, shaped, ordered and initialised as torch's
(``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``weight_hr_l0`` for ``proj_size``, a
``_reverse`` suffix for the backward direction; all uniform on ``(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``)
with torch's gate order (LSTM i, f, g, o; GRU r, z, n), so a torch ``state_dict`` loads and gives the same
outputs.

NOTE: the input projection is one matmul per time step, not one for the whole sequence: the gradient of a
slice of a precomputed (T*B, gates) projection is padded back to the projection's full size, which makes the
backward pass quadratic in T (a 35-step LSTM training step measured 1.4-1.9x slower that way, its forward
10% faster). Per-step products keep the backward linear. A multi-output split primitive whose gradient is one
cat would make the precomputed projection pay off.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ... import creation
from ...ops.join import cat, split, stack, unbind
from ...ops.linalg import matmul
from ...ops.shape import int_arg, narrow
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# -- one time step ---------------------------------------------------------------------------------------
# Each step takes the input at one time step (batch, input), the state (a tuple: (h,) or (h, c)) and the
# weights of one layer and direction, pre-transposed once per sequence: (w_ih.T, w_hh.T, b_ih, b_hh, w_hr.T).
# For RNN and LSTM b_ih holds b_ih + b_hh (summed once) and b_hh is None.


def _affine(x: Tensor, w_t: Tensor, b: Tensor | None) -> Tensor:
    out = matmul(x, w_t)
    return out if b is None else out + b


def _rnn_step(activation):
    def step(x: Tensor, state: tuple, w: tuple) -> tuple:
        w_ih, w_hh, b, _, _ = w
        return (activation(_affine(x, w_ih, b) + matmul(state[0], w_hh)),)
    return step


def _lstm_step(x: Tensor, state: tuple, w: tuple) -> tuple:
    w_ih, w_hh, b, _, w_hr = w
    h, c = state
    gates = _affine(x, w_ih, b) + matmul(h, w_hh)
    # NOTE: one sigmoid over all four gates (g's quarter unused) takes fewer ops forward and backward than one
    # sigmoid per gate; the ops, not the arithmetic, dominate at these sizes.
    i, f, _, o = gates.sigmoid().chunk(4, 1)
    g = narrow(gates, 1, 2 * c.shape[-1], c.shape[-1]).tanh()
    c = f * c + i * g
    h = o * c.tanh()
    return (h if w_hr is None else matmul(h, w_hr), c)


def _gru_step(x: Tensor, state: tuple, w: tuple) -> tuple:
    w_ih, w_hh, b_ih, b_hh, _ = w
    h = state[0]
    hidden = h.shape[-1]
    x_rz, x_n = split(_affine(x, w_ih, b_ih), [2 * hidden, hidden], 1)
    h_rz, h_n = split(_affine(h, w_hh, b_hh), [2 * hidden, hidden], 1)
    r, z = (x_rz + h_rz).sigmoid().chunk(2, 1)
    n = (x_n + r * h_n).tanh()  # NOTE: r multiplies (W_hn h + b_hn), as in torch (and cuDNN)
    return (n + z * (h - n),)


_STEPS = {"RNN_TANH": _rnn_step(Tensor.tanh), "RNN_RELU": _rnn_step(Tensor.relu), "LSTM": _lstm_step,
          "GRU": _gru_step}


def _prepared(mode: str, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
              w_hr: Tensor | None = None) -> tuple:
    """The weights as the steps take them: transposed, and the two biases summed where they only add up."""
    if b_ih is not None and mode != "GRU":
        b_ih, b_hh = b_ih + b_hh, None
    return (w_ih.t(), w_hh.t(), b_ih, b_hh, None if w_hr is None else w_hr.t())


# -- one layer, one direction over a packed sequence -----------------------------------------------------


def _run_direction(step, xs: list, batch_sizes: list, state: tuple, w: tuple, reverse: bool) -> tuple:
    """Run ``step`` over the inputs ``xs`` (one (batch_sizes[t], features) tensor per time step) from the
    initial ``state`` (each (batch_sizes[0], *)); returns (the output at each step, the final state).

    Sequences are sorted longest first, so at step t only the first batch_sizes[t] rows run: forward, rows
    that end leave the state (their final state is kept aside); backward, rows join as their last step comes.
    """
    outs = [None] * len(xs)
    if not reverse:
        ended = []
        for t, x in enumerate(xs):
            size = batch_sizes[t]
            if size < state[0].shape[0]:
                ended.append(tuple(s[size:] for s in state))
                state = tuple(s[:size] for s in state)
            state = step(x, state, w)
            outs[t] = state[0]
        if ended:
            state = tuple(cat([s] + [rows[k] for rows in reversed(ended)]) for k, s in enumerate(state))
        return outs, state
    initial, running = state, batch_sizes[-1]
    if running < initial[0].shape[0]:
        state = tuple(s[:running] for s in initial)
    for t in range(len(xs) - 1, -1, -1):
        size = batch_sizes[t]
        if size > running:
            state = tuple(cat([s, s0[running:size]]) for s, s0 in zip(state, initial))
            running = size
        state = step(xs[t], state, w)
        outs[t] = state[0]
    return outs, state


def _check_positive_int(value, name: str) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    int_arg(value, "RNN", name)  # NOTE: 10**20 layers is refused here, not built one by one
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")


def _shape_str(shape) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _check_state_dtypes(name: str, states: tuple, weight: Tensor) -> None:
    for k, s in enumerate(states):
        if s.dtype != weight.dtype:
            raise RuntimeError(f"{name}: hidden{k} dtype ({s.dtype}) does not match weight dtype ({weight.dtype})")


def _repr(module: Module, defaults: tuple) -> str:
    """torch's extra_repr of recurrent layers: the sizes, then each attribute that differs from its default."""
    extras = [f"{name}={getattr(module, name)}" for name, default in defaults
              if getattr(module, name, default) != default]
    return ", ".join([f"{module.input_size}, {module.hidden_size}"] + extras)


class RNNBase(Module):
    """The multi-layer recurrent network behind :class:`RNN`, :class:`LSTM` and :class:`GRU`.

    ``mode`` is one of 'RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU'. See :class:`LSTM` for the arguments, the
    shapes and the parameters.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        _check_positive_int(hidden_size, "hidden_size")
        _check_positive_int(num_layers, "num_layers")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        directions = 2 if bidirectional else 1
        out_size = proj_size or hidden_size
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, out_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = [name + suffix for name, _ in shapes]
                for name, (_, shape) in zip(names, shapes):
                    setattr(self, name, Parameter(creation.empty(*shape, dtype=dtype, device=device)))
                self._flat_weights_names += names
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias uniform on ``(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``, as in torch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Nothing to do: torch compacts weights for cuDNN here; chainrule's layers use them as they are."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters grouped per layer and direction, in torch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _state_shapes(self, batch: int) -> list:
        layers = self.num_layers * (2 if self.bidirectional else 1)
        shapes = [(layers, batch, self.proj_size or self.hidden_size)]
        return shapes + [(layers, batch, self.hidden_size)] if self.mode == "LSTM" else shapes

    def _check_states(self, states: tuple, batch: int) -> None:
        for k, (s, shape) in enumerate(zip(states, self._state_shapes(batch))):
            if tuple(s.shape) != shape:
                label = f"hidden[{k}]" if self.mode == "LSTM" else "hidden"
                raise RuntimeError(f"Expected {label} size {shape}, got {_shape_str(s.shape)}")

    def _hidden_tuple(self, hx) -> tuple | None:
        """``hx`` as a tuple of state tensors ((h_0,) or (h_0, c_0)), checking its type."""
        if hx is None:
            return None
        if self.mode == "LSTM":
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2 and all(isinstance(s, Tensor) for s in hx)):
                raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0) of two Tensors, got {type(hx).__name__}")
            return tuple(hx)
        if not isinstance(hx, Tensor):
            raise TypeError(f"{type(self).__name__}: hx must be a Tensor (h_0), got {type(hx).__name__}")
        return (hx,)

    def _check_unbatched_states(self, states: tuple, batched: bool) -> None:
        want = 3 if batched else 2
        if any(s.dim() != want for s in states):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            if self.mode == "LSTM":
                dims = ", ".join(f"{s.dim()}-D" for s in states)
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got ({dims}) tensors")
            raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {states[0].dim()}-D tensor")

    def forward(self, input, hx=None):
        """Run the network over ``input``; returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for LSTM)."""
        name = type(self).__name__
        states = self._hidden_tuple(hx)
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes = batch_sizes_t.tolist()
            batch = batch_sizes[0]
            if states is not None:
                self._check_unbatched_states(states, True)
                if sorted_indices is not None:
                    states = tuple(s.index_select(1, sorted_indices) for s in states)
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, not {type(input).__name__}")
            if input.dim() not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
            batched = input.dim() == 3
            if states is not None:
                self._check_unbatched_states(states, batched)
                if not batched:
                    states = tuple(s.unsqueeze(1) for s in states)
            if not batched:
                input = input.unsqueeze(0 if self.batch_first else 1)
            if self.batch_first:
                input = input.transpose(0, 1)
            steps, batch = input.shape[:2]
            if steps == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            batch_sizes, data = [batch] * steps, input
        weight = self.weight_ih_l0
        if data.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({data.dtype}) does not match weight dtype ({weight.dtype}). Convert "
                             f"input: input.to({weight.dtype}), or convert model: model.to({data.dtype})")
        if data.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{data.shape[-1]}")
        if states is None:
            states = tuple(creation.zeros(*shape, dtype=data.dtype, device=data.device)
                           for shape in self._state_shapes(batch))
        else:
            self._check_states(states, batch)
            _check_state_dtypes(name, states, weight)
        xs = list(split(data, batch_sizes) if packed else unbind(data))
        outs, finals = self._layers(xs, batch_sizes, states)
        if packed:
            output = PackedSequence(cat(outs), batch_sizes_t, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                finals = tuple(s.index_select(1, unsorted_indices) for s in finals)
        else:
            # NOTE: one cat and a reshape; stack would add an unsqueeze per time step, forward and backward.
            output = cat(outs).reshape(steps, batch, outs[0].shape[-1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if not batched:
                output = output.squeeze(0 if self.batch_first else 1)
                finals = tuple(s.squeeze(1) for s in finals)
        return output, (finals if self.mode == "LSTM" else finals[0])

    def _layers(self, xs: list, batch_sizes: list, states: tuple) -> tuple:
        """All layers over the per-step inputs ``xs``: (the last layer's per-step outputs, the final states
        stacked (layers * directions, batch, *))."""
        step, directions = _STEPS[self.mode], 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            if layer and self.training and self.dropout:
                xs = [F.dropout(x, self.dropout, True) for x in xs]
            runs = []
            for direction in range(directions):
                index = layer * directions + direction
                w = _prepared(self.mode, *self.all_weights[index][:2], *self._biases(index), self._projection(index))
                outs, final = _run_direction(step, xs, batch_sizes, tuple(s[index] for s in states), w,
                                             reverse=bool(direction))
                runs.append(outs)
                finals.append(final)
            xs = runs[0] if directions == 1 else [cat(pair, 1) for pair in zip(*runs)]
        return xs, tuple(stack([f[k] for f in finals]) for k in range(len(states)))

    def _biases(self, index: int) -> tuple:
        return tuple(self.all_weights[index][2:4]) if self.bias else (None, None)

    def _projection(self, index: int) -> Tensor | None:
        return self.all_weights[index][-1] if self.proj_size else None

    def extra_repr(self) -> str:
        return _repr(self, (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                            ("dropout", 0), ("bidirectional", False)))


class RNN(RNNBase):
    r"""Elman recurrent network: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` per layer
    (``nonlinearity='relu'`` uses ReLU).

    Arguments, shapes and options as :class:`LSTM` (without ``proj_size``); the state is ``h_0`` alone:
    ``output, h_n = rnn(input, h_0)``.

    Example::

        >>> rnn = chainrule.nn.RNN(10, 20, 2)
        >>> output, h_n = rnn(chainrule.randn(5, 3, 10), chainrule.randn(2, 3, 20))
        >>> output.shape, h_n.shape
        (chainrule.Size([5, 3, 20]), chainrule.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(f"RNN_{nonlinearity.upper()}", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    r"""Long short-term memory network. Per layer and time step, with gates in torch's order i, f, g, o::

        i, f, g, o = chunk(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, 4)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)            (then h_t W_hr^T when proj_size > 0)

    Arguments: ``input_size``, ``hidden_size``, ``num_layers=1``, ``bias=True``, ``batch_first=False``,
    ``dropout=0.0`` (on the outputs of every layer but the last, in training), ``bidirectional=False``,
    ``proj_size=0``.

    Shapes (L = num_layers, D = 2 if bidirectional else 1, H_out = proj_size or hidden_size):
    input (T, B, input_size) ((B, T, input_size) if batch_first; (T, input_size) unbatched) or a
    :class:`~chainrule.nn.utils.rnn.PackedSequence`; ``h_0`` (D*L, B, H_out) and ``c_0`` (D*L, B, hidden_size),
    zeros when omitted; output (T, B, D*H_out) (packed when the input is), ``h_n`` and ``c_n`` as h_0 and c_0.

    Parameters per layer k (``_reverse`` for the backward direction): ``weight_ih_lk`` (4*hidden_size, input),
    ``weight_hh_lk`` (4*hidden_size, H_out), ``bias_ih_lk``, ``bias_hh_lk`` (4*hidden_size) and
    ``weight_hr_lk`` (proj_size, hidden_size), all uniform on ``(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``.

    Example::

        >>> lstm = chainrule.nn.LSTM(10, 20, 2)
        >>> output, (h_n, c_n) = lstm(chainrule.randn(5, 3, 10))
        >>> output.shape, h_n.shape, c_n.shape
        (chainrule.Size([5, 3, 20]), chainrule.Size([2, 3, 20]), chainrule.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    r"""Gated recurrent unit network. Per layer and time step, with gates in torch's order r, z, n::

        r = sigmoid(x_t W_ir^T + b_ir + h W_hr^T + b_hr),  z = sigmoid(x_t W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x_t W_in^T + b_in + r * (h W_hn^T + b_hn)),  h_t = (1 - z) * n + z * h

    Arguments, shapes and options as :class:`LSTM` (without ``proj_size``; gates 3*hidden_size); the state is
    ``h_0`` alone: ``output, h_n = gru(input, h_0)``.

    Example::

        >>> gru = chainrule.nn.GRU(10, 20, batch_first=True)
        >>> gru(chainrule.randn(3, 5, 10))[0].shape
        chainrule.Size([3, 5, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


# -- cells -----------------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """One time step of a recurrent layer; parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_positive_int(hidden_size, "hidden_size")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gate_size = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty(gate_size, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(creation.empty(gate_size, hidden_size, dtype=dtype, device=device))
        for name in ("bias_ih", "bias_hh"):
            if bias:
                setattr(self, name, Parameter(creation.empty(gate_size, dtype=dtype, device=device)))
            else:
                self.register_parameter(name, None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def _run(self, mode: str, input: Tensor, hx: tuple | None) -> tuple:
        """Check the shapes as torch does, run one step; returns the new state (unbatched if the input is)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, not {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        for k, s in enumerate(hx or ()):
            if not isinstance(s, Tensor) or s.dim() != input.dim():
                got = f"{s.dim()}D" if isinstance(s, Tensor) else type(s).__name__
                raise RuntimeError(f"{name}: Expected hidden{k} to be {input.dim()}D like the input, got {got}")
        if not batched:
            input = input.unsqueeze(0)
            hx = None if hx is None else tuple(s.unsqueeze(0) for s in hx)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{name}: input dtype ({input.dtype}) does not match weight dtype "
                               f"({self.weight_ih.dtype})")
        if hx is None:
            hx = tuple(creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
                       for _ in range(2 if mode == "LSTM" else 1))
        for k, s in enumerate(hx):
            if s.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{k} batch size "
                                   f"{s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.shape[1]}, expected "
                                   f"{self.hidden_size}")
        _check_state_dtypes(name, hx, self.weight_ih)
        w = _prepared(mode, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        state = _STEPS[mode](input, hx, w)
        return state if batched else tuple(s.squeeze(0) for s in state)

    def extra_repr(self) -> str:
        return _repr(self, (("bias", True), ("nonlinearity", "tanh")))


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU).

    Shapes: input (B, input_size) or (input_size); hx (B, hidden_size) or (hidden_size), zeros when omitted;
    returns h' shaped as hx.

    Example::

        >>> cell = chainrule.nn.RNNCell(10, 20)
        >>> cell(chainrule.randn(3, 10)).shape
        chainrule.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run(f"RNN_{self.nonlinearity.upper()}", input, None if hx is None else (hx,))[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o as :class:`LSTM`): ``(h', c') = cell(x, (h, c))``.

    Shapes: input (B, input_size) or (input_size); h and c (B, hidden_size) or (hidden_size), zeros when
    ``hx`` is omitted.

    Example::

        >>> cell = chainrule.nn.LSTMCell(10, 20)
        >>> h, c = cell(chainrule.randn(3, 10))
        >>> h.shape, c.shape
        (chainrule.Size([3, 20]), chainrule.Size([3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c) of two Tensors, got {type(hx).__name__}")
        return self._run("LSTM", input, hx)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n as :class:`GRU`): ``h' = cell(x, h)``.

    Shapes: input (B, input_size) or (input_size); hx (B, hidden_size) or (hidden_size), zeros when omitted.

    Example::

        >>> chainrule.nn.GRUCell(10, 20)(chainrule.randn(10)).shape
        chainrule.Size([20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run("GRU", input, None if hx is None else (hx,))[0]
