"""Recurrent layers and packed sequences: closed forms, shapes of every option, packed against padded,
gradients (first and second order, vmap), torch's errors, a character-level language model, and (optional)
parity with torch's layers loaded from the same state_dict."""

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.func import functional_call, grad, jvp, vjp, vmap
from chainrule.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

rng = np.random.default_rng(0)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def weights(module) -> dict:
    return {k: v.detach().numpy() for k, v in module.named_parameters()}


def close(a, b, atol=1e-6):
    np.testing.assert_allclose(a.detach().numpy() if isinstance(a, cr.Tensor) else a,
                               b.detach().numpy() if isinstance(b, cr.Tensor) else b, rtol=1e-5, atol=atol)


# -- closed forms --------------------------------------------------------------------------------------


@pytest.mark.parametrize("nonlinearity, act", [("tanh", np.tanh), ("relu", lambda a: np.maximum(a, 0))])
def test_rnn_cell_one_step_by_hand(nonlinearity, act):
    cell = nn.RNNCell(2, 2, nonlinearity=nonlinearity)
    with cr.no_grad():
        cell.weight_ih.copy_(cr.tensor([[1.0, 2.0], [-1.0, 0.5]]))
        cell.weight_hh.copy_(cr.tensor([[0.5, 0.0], [0.0, -2.0]]))
        cell.bias_ih.copy_(cr.tensor([0.1, -0.2]))
        cell.bias_hh.copy_(cr.tensor([0.0, 0.3]))
    x, h = cr.tensor([[1.0, -1.0]]), cr.tensor([[2.0, 1.0]])
    # x W_ih^T = [1 - 2, -1 - 0.5] = [-1, -1.5]; h W_hh^T = [1, -2]; biases [0.1, 0.1]
    close(cell(x, h), act(np.array([[0.1, -3.4]])))
    close(cell(x[0], h[0]), act(np.array([0.1, -3.4])))  # unbatched
    close(cell(x), act(np.array([[-0.9, -1.4]])))  # h_0 = 0


def numpy_lstm_cell(w, x, h, c, suffix=""):
    gates = x @ w["weight_ih" + suffix].T + w["bias_ih" + suffix] + h @ w["weight_hh" + suffix].T + \
        w["bias_hh" + suffix]
    i, f, g, o = np.split(gates, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    if "weight_hr" + suffix in w:
        h = h @ w["weight_hr" + suffix].T
    return h, c


def numpy_gru_cell(w, x, h, suffix=""):
    gi = x @ w["weight_ih" + suffix].T + w["bias_ih" + suffix]
    gh = h @ w["weight_hh" + suffix].T + w["bias_hh" + suffix]
    (ir, iz, in_), (hr, hz, hn) = np.split(gi, 3, axis=1), np.split(gh, 3, axis=1)
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    n = np.tanh(in_ + r * hn)
    return (1 - z) * n + z * h


def test_lstm_cell_matches_numpy_gate_equations():
    cell = nn.LSTMCell(3, 4)
    x, h, c = (rng.standard_normal(s).astype(np.float32) for s in ((5, 3), (5, 4), (5, 4)))
    h1, c1 = cell(cr.tensor(x), (cr.tensor(h), cr.tensor(c)))
    h_ref, c_ref = numpy_lstm_cell(weights(cell), x, h, c)
    close(h1, h_ref)
    close(c1, c_ref)


def test_gru_cell_matches_numpy_gate_equations():
    cell = nn.GRUCell(3, 4)
    x, h = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    close(cell(cr.tensor(x), cr.tensor(h)), numpy_gru_cell(weights(cell), x, h))


def numpy_network(module, x, state):
    """The module's recurrence written out in NumPy over (T, B, I) and its state tuple (numbers, per layer)."""
    w, directions = weights(module), 2 if module.bidirectional else 1
    layer_input, finals = x, []
    for layer in range(module.num_layers):
        outs = []
        for d in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            s = [part[layer * directions + d] for part in state]
            steps = range(len(x) - 1, -1, -1) if d else range(len(x))
            out = [None] * len(x)
            for t in steps:
                if module.mode == "LSTM":
                    s = list(numpy_lstm_cell(w, layer_input[t], s[0], s[1], suffix))
                elif module.mode == "GRU":
                    s = [numpy_gru_cell(w, layer_input[t], s[0], suffix)]
                else:
                    a = layer_input[t] @ w["weight_ih" + suffix].T + w["bias_ih" + suffix] + \
                        s[0] @ w["weight_hh" + suffix].T + w["bias_hh" + suffix]
                    s = [np.tanh(a) if module.mode == "RNN_TANH" else np.maximum(a, 0)]
                out[t] = s[0]
            outs.append(np.stack(out))
            finals.append(s)
        layer_input = np.concatenate(outs, axis=-1)
    return layer_input, [np.stack([f[k] for f in finals]) for k in range(len(state))]


@pytest.mark.parametrize("cls, kw", [(nn.RNN, {}), (nn.RNN, dict(nonlinearity="relu")), (nn.GRU, {}),
                                     (nn.LSTM, {}), (nn.LSTM, dict(proj_size=2))])
def test_two_layer_bidirectional_network_matches_numpy(cls, kw):
    module = cls(3, 4, num_layers=2, bidirectional=True, **kw)
    out_size = kw.get("proj_size") or 4
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    state = [rng.standard_normal((4, 2, out_size)).astype(np.float32)]
    if cls is nn.LSTM:
        state.append(rng.standard_normal((4, 2, 4)).astype(np.float32))
    hx = tuple(cr.tensor(s) for s in state) if cls is nn.LSTM else cr.tensor(state[0])
    out, h_n = module(cr.tensor(x), hx)
    out_ref, finals_ref = numpy_network(module, x, state)
    close(out, out_ref, atol=1e-5)
    for got, ref in zip(h_n if cls is nn.LSTM else (h_n,), finals_ref):
        close(got, ref, atol=1e-5)


# -- shapes, parameters, initialisation ----------------------------------------------------------------

OPTIONS = [option for option in itertools.product([nn.RNN, nn.GRU, nn.LSTM], [1, 2], [False, True], [False, True],
                                                  [False, True], [False, True], [0, 2])
           if option[0] is nn.LSTM or not option[-1]]  # proj_size is LSTM only


@pytest.mark.parametrize("cls, layers, bidirectional, batch_first, bias, batched, proj", OPTIONS)
def test_shapes_for_every_option(cls, layers, bidirectional, batch_first, bias, batched, proj):
    kw = dict(proj_size=proj) if proj else {}
    module = cls(3, 5, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias, **kw)
    d, h_out, steps, batch = 2 if bidirectional else 1, proj or 5, 4, 2
    shape = ((batch, steps) if batch_first else (steps, batch)) if batched else (steps,)
    out, hidden = module(cr.randn(*shape, 3))
    lead = (batch,) if batched else ()
    assert tuple(out.shape) == shape + (d * h_out,)
    h_n, c_n = hidden if cls is nn.LSTM else (hidden, None)
    assert tuple(h_n.shape) == (d * layers,) + lead + (h_out,)
    if c_n is not None:
        assert tuple(c_n.shape) == (d * layers,) + lead + (5,)
    gates = {nn.RNN: 1, nn.GRU: 3, nn.LSTM: 4}[cls] * 5
    names = [n for n, _ in module.named_parameters()]
    assert names == module._flat_weights_names and len(names) == layers * d * (2 + 2 * bias + bool(proj))
    params = dict(module.named_parameters())
    assert tuple(params["weight_ih_l0"].shape) == (gates, 3)
    assert tuple(params["weight_hh_l0"].shape) == (gates, h_out)
    if layers == 2:
        assert tuple(params["weight_ih_l1" + ("_reverse" if bidirectional else "")].shape) == (gates, d * h_out)
    if proj:
        assert tuple(params["weight_hr_l0"].shape) == (proj, 5)
    # the final state is the output at each sequence's last step
    last = out[:, -1] if (batch_first and batched) else out[-1]
    close(last[..., :h_out], h_n[-d])


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_empty_batch(cls):
    out, hidden = cls(3, 4, 2, bidirectional=True)(cr.randn(5, 0, 3))
    assert out.shape == (5, 0, 8) and (hidden[0] if cls is nn.LSTM else hidden).shape == (4, 0, 4)


def test_parameter_names_order_and_initialisation_follow_torch():
    cr.manual_seed(0)
    lstm = nn.LSTM(3, 16, num_layers=2, bidirectional=True, proj_size=2)
    assert [n for n, _ in lstm.named_parameters()][:10] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0", "weight_ih_l0_reverse",
        "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_hr_l0_reverse"]
    values = np.concatenate([p.detach().numpy().ravel() for p in lstm.parameters()])
    assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.24 and abs(values.mean()) < 0.02
    cell = nn.GRUCell(3, 100, bias=False)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"] and cell.bias_ih is None
    assert np.abs(cell.weight_hh.detach().numpy()).max() <= 0.1
    assert len(lstm.all_weights) == 4 and lstm.all_weights[1][0] is lstm.weight_ih_l0_reverse


def test_repr_like_torch():
    assert repr(nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True, proj_size=2, dropout=0.1)) == \
        "LSTM(3, 4, proj_size=2, num_layers=2, batch_first=True, dropout=0.1, bidirectional=True)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu", bias=False)) == "RNN(3, 4, bias=False)"
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert repr(nn.LSTMCell(3, 4, bias=False)) == "LSTMCell(3, 4, bias=False)"


def test_float64_module_and_state_dict_round_trip():
    a, b = nn.GRU(3, 4, 2, dtype=cr.float64), nn.GRU(3, 4, 2).double()
    b.load_state_dict(a.state_dict())
    x = cr.randn(5, 2, 3, dtype=cr.float64)
    assert a(x)[0].dtype == cr.float64
    close(a(x)[0], b(x)[0], atol=0)


# -- packed sequences ----------------------------------------------------------------------------------


def test_pack_and_pad_by_hand():
    x = cr.arange(12.0).reshape(3, 2, 2)  # (T=3, B=2, 2)
    packed = pack_padded_sequence(x, [3, 1])
    assert packed.data.tolist() == [[0, 1], [2, 3], [4, 5], [8, 9]] and packed.batch_sizes.tolist() == [2, 1, 1]
    assert packed.sorted_indices is None and packed.unsorted_indices is None
    assert packed.batch_sizes.dtype == cr.int64 and isinstance(packed, tuple)
    padded, lengths = pad_packed_sequence(packed, padding_value=-1.0, total_length=4)
    assert lengths.tolist() == [3, 1] and lengths.dtype == cr.int64
    assert padded[:, 1, 0].tolist() == [2, -1, -1, -1] and padded[:, 0, 0].tolist() == [0, 4, 8, -1]
    unsorted = pack_padded_sequence(x.transpose(0, 1), [1, 3], batch_first=True, enforce_sorted=False)
    assert unsorted.sorted_indices.tolist() == [1, 0] and unsorted.unsorted_indices.tolist() == [1, 0]
    assert unsorted.data.tolist() == [[2, 3], [0, 1], [6, 7], [10, 11]]
    back, lengths = pad_packed_sequence(unsorted, batch_first=True)
    assert lengths.tolist() == [1, 3] and back[1].tolist() == x[:, 1].tolist() and back[0, 1:].abs().sum() == 0


def test_pad_sequence_sides_and_pack_sequence():
    seqs = [cr.ones(2, 3), cr.full((4, 3), 2.0), cr.full((1, 3), 3.0)]
    assert pad_sequence(seqs, padding_side="left")[:, :, 0].tolist() == [[0, 2, 0], [0, 2, 0], [1, 2, 0],
                                                                         [1, 2, 3]]
    right = pad_sequence(seqs, batch_first=True, padding_value=9.0)
    assert right.shape == (3, 4, 3) and right[:, :, 0].tolist() == [[1, 1, 9, 9], [2, 2, 2, 2], [3, 9, 9, 9]]
    packed = pack_sequence(seqs, enforce_sorted=False)
    assert packed.data[:, 0].tolist() == [2, 1, 3, 2, 1, 2, 2] and packed.batch_sizes.tolist() == [3, 2, 1, 1]
    assert [s.tolist() for s in unpack_sequence(packed)] == [s.tolist() for s in seqs]
    assert [s.shape[0] for s in unpad_sequence(pad_sequence(seqs), cr.tensor([2, 4, 1]))] == [2, 4, 1]
    double = packed.double()
    assert isinstance(double, PackedSequence) and double.data.dtype == cr.float64
    assert double.sorted_indices.tolist() == [1, 0, 2] and double.batch_sizes is packed.batch_sizes


def test_packing_passes_gradients():
    x = cr.randn(4, 3, 2, dtype=cr.float64, requires_grad=True)
    gradcheck(lambda t: pad_packed_sequence(pack_padded_sequence(t, [2, 4, 1], enforce_sorted=False))[0], (x,))
    seqs = tuple(cr.randn(n, 2, dtype=cr.float64, requires_grad=True) for n in (1, 3))
    gradcheck(lambda *s: pad_sequence(s, padding_side="left"), seqs)


@pytest.mark.parametrize("cls, bidirectional", [(nn.RNN, True), (nn.GRU, True), (nn.LSTM, False), (nn.LSTM, True)])
def test_packed_batch_matches_each_sequence_alone(cls, bidirectional):
    kw = dict(proj_size=2) if cls is nn.LSTM and not bidirectional else {}
    module = cls(3, 4, num_layers=2, bidirectional=bidirectional, **kw)
    lengths = [2, 5, 1, 3]
    seqs = [cr.randn(n, 3) for n in lengths]
    packed = pack_sequence(seqs, enforce_sorted=False)
    out, hidden = module(packed)
    assert isinstance(out, PackedSequence) and out.batch_sizes.tolist() == [4, 3, 2, 1, 1]
    padded, out_lengths = pad_packed_sequence(out, batch_first=True)
    assert out_lengths.tolist() == lengths
    for b, seq in enumerate(seqs):
        alone, hidden_alone = module(seq)
        close(padded[b, :lengths[b]], alone)
        assert padded[b, lengths[b]:].abs().sum() == 0
        for got, ref in zip(hidden if cls is nn.LSTM else (hidden,),
                            hidden_alone if cls is nn.LSTM else (hidden_alone,)):
            close(got[:, b], ref)


def test_packed_initial_state_follows_the_batch_order():
    gru = nn.GRU(2, 3)
    seqs, h0 = [cr.randn(1, 2), cr.randn(3, 2)], cr.randn(1, 2, 3)
    out, h_n = gru(pack_sequence(seqs, enforce_sorted=False), h0)
    for b in range(2):
        alone, h_alone = gru(seqs[b], h0[:, b])
        close(h_n[:, b], h_alone)


# -- training mode, gradients, transforms --------------------------------------------------------------


def test_dropout_acts_between_layers_in_training_only():
    cr.manual_seed(0)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=1.0)
    x = cr.randn(5, 2, 3)
    train_out = lstm(x)[0]
    # dropout=1 zeroes the second layer's input: it runs on zeros
    second = nn.LSTM(3, 4)
    with cr.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(second, name + "_l0").copy_(getattr(lstm, name + "_l1")[:, :3] if name == "weight_ih"
                                                else getattr(lstm, name + "_l1"))
    close(train_out, second(cr.zeros(5, 2, 3))[0])
    lstm.eval()
    assert not cr.allclose(lstm(x)[0], train_out) and cr.equal(lstm(x)[0], lstm(x)[0])


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cells_gradcheck_and_gradgradcheck(cls):
    cell = cls(2, 3, dtype=cr.float64)
    names = [n for n, _ in cell.named_parameters()]
    x, h = cr.randn(2, 2, dtype=cr.float64, requires_grad=True), cr.randn(2, 3, dtype=cr.float64, requires_grad=True)
    params = [p.detach().requires_grad_() for p in cell.parameters()]

    def f(x, h, *ps):
        hx = (h, h * 0.5) if cls is nn.LSTMCell else h
        out = functional_call(cell, dict(zip(names, ps)), (x, hx))
        return out if cls is not nn.LSTMCell else out[0] + out[1]

    gradcheck(f, (x, h, *params))
    gradgradcheck(f, (x, h, *params))


def test_small_lstm_gradcheck_packed_bidirectional_projected():
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2, dtype=cr.float64)
    names = [n for n, _ in lstm.named_parameters()]
    x = cr.randn(3, 2, 2, dtype=cr.float64, requires_grad=True)
    h0 = cr.randn(4, 2, 2, dtype=cr.float64, requires_grad=True)
    c0 = cr.randn(4, 2, 3, dtype=cr.float64, requires_grad=True)
    params = [p.detach().requires_grad_() for p in lstm.parameters()]

    def f(x, h0, c0, *ps):
        packed = pack_padded_sequence(x, [1, 3], enforce_sorted=False)
        out, (h_n, c_n) = functional_call(lstm, dict(zip(names, ps)), (packed, (h0, c0)))
        return pad_packed_sequence(out)[0], h_n, c_n

    gradcheck(f, (x, h0, c0, *params))


def test_gru_gradgradcheck():
    gru = nn.GRU(2, 2, bidirectional=True, dtype=cr.float64)
    x = cr.randn(3, 1, 2, dtype=cr.float64, requires_grad=True)
    gradgradcheck(lambda t: gru(t)[0], (x,))


def test_forward_mode_agrees_with_reverse_mode():
    gru = nn.GRU(2, 3, num_layers=2, bidirectional=True, dtype=cr.float64)
    x, x_t = cr.randn(4, 2, 2, dtype=cr.float64), cr.randn(4, 2, 2, dtype=cr.float64)
    out, out_t = jvp(lambda t: gru(t)[0], (x,), (x_t,))
    g = cr.randn(*out.shape, dtype=cr.float64)
    _, pullback = vjp(lambda t: gru(t)[0], x)
    # <g, J x_t> = <J^T g, x_t>
    assert abs((g * out_t).sum().item() - (pullback(g)[0] * x_t).sum().item()) < 1e-10


def test_vmap_over_unbatched_sequences_matches_the_batched_layer():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    xs = cr.randn(6, 5, 3)  # 6 sequences of length 5

    def run(x):
        out, (h_n, c_n) = lstm(x)
        return out, h_n

    out, h_n = vmap(run)(xs)
    ref, (h_ref, _) = lstm(xs.transpose(0, 1))
    close(out, ref.transpose(0, 1))
    close(h_n, h_ref.transpose(0, 1))
    # per-sample gradients
    params = {k: v.detach() for k, v in lstm.named_parameters()}
    per_sample = vmap(grad(lambda p, x: functional_call(lstm, p, (x,))[0].sin().sum()), in_dims=(None, 0))(params, xs)
    for i in (0, 5):
        lstm.zero_grad()
        lstm(xs[i])[0].sin().sum().backward()
        for name, p in lstm.named_parameters():
            close(per_sample[name][i], p.grad, atol=1e-5)


# -- errors ----------------------------------------------------------------------------------------------


def test_errors_like_torch():
    lstm, gru = nn.LSTM(10, 20, 2), nn.GRU(10, 20, 2)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 10, got 7"):
        lstm(cr.randn(5, 3, 7))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D instead"):
        lstm(cr.randn(5, 3, 7, 1))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 3, 20\), got \[1, 3, 20\]"):
        lstm(cr.randn(5, 3, 10), (cr.randn(1, 3, 20), cr.randn(2, 3, 20)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 3, 20\), got \[2, 4, 20\]"):
        lstm(cr.randn(5, 3, 10), (cr.randn(2, 3, 20), cr.randn(2, 4, 20)))
    with pytest.raises(RuntimeError, match=r"For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 2-D\)"):
        lstm(cr.randn(5, 3, 10), (cr.randn(2, 20), cr.randn(2, 20)))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"):
        gru(cr.randn(5, 10), cr.randn(2, 1, 20))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 3, 20\), got \[1, 3, 20\]"):
        gru(cr.randn(5, 3, 10), cr.randn(1, 3, 20))
    with pytest.raises(ValueError, match="RNN input dtype"):
        gru(cr.randn(5, 3, 10, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
        gru(cr.randn(0, 3, 10))
    with pytest.raises(TypeError, match="hx must be a tuple"):
        lstm(cr.randn(5, 3, 10), cr.randn(2, 3, 20))
    with pytest.raises(RuntimeError, match="hidden0 dtype \\(chainrule.float64\\) does not match weight dtype"):
        gru(cr.randn(5, 3, 10), cr.randn(2, 3, 20, dtype=cr.float64))
    h0, c0 = cr.randn(2, 3, 20), cr.randn(2, 3, 20)
    assert cr.equal(lstm(cr.ones(5, 3, 10), [h0, c0])[0], lstm(cr.ones(5, 3, 10), (h0, c0))[0])


@pytest.mark.parametrize("kw, error, message", [
    (dict(dropout=2), ValueError, "dropout should be a number in range"),
    (dict(hidden_size=0), ValueError, "hidden_size must be greater than zero"),
    (dict(num_layers=0), ValueError, "num_layers must be greater than zero"),
    (dict(hidden_size=4.0), TypeError, "hidden_size should be of type int, got: float"),
    (dict(nonlinearity="sig"), ValueError, "Unknown nonlinearity 'sig'. Select from 'tanh' or 'relu'."),
])
def test_constructor_errors_like_torch(kw, error, message):
    with pytest.raises(error, match=message):
        nn.RNN(**{"input_size": 3, "hidden_size": 4, **kw})


def test_lstm_proj_size_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        nn.LSTM(3, 4, proj_size=-1)


def test_cell_errors_like_torch():
    cell = nn.LSTMCell(10, 20)
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D instead"):
        cell(cr.randn(2, 3, 10))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 7 expected 10"):
        cell(cr.randn(3, 7))
    with pytest.raises(RuntimeError, match="Input batch size 3 doesn't match hidden0 batch size 4"):
        cell(cr.randn(3, 10), (cr.randn(4, 20), cr.randn(4, 20)))
    with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 21, expected 20"):
        nn.GRUCell(10, 20)(cr.randn(3, 10), cr.randn(3, 21))
    with pytest.raises(RuntimeError, match="hidden1 has inconsistent hidden_size: got 5, expected 20"):
        cell(cr.randn(3, 10), (cr.randn(3, 20), cr.randn(3, 5)))
    with pytest.raises(RuntimeError, match="LSTMCell: Expected hidden0 to be 1D like the input, got 2D"):
        cell(cr.randn(10), (cr.randn(1, 20), cr.randn(1, 20)))
    with pytest.raises(RuntimeError, match="RNNCell: input dtype"):
        nn.RNNCell(10, 20)(cr.randn(3, 10, dtype=cr.float64))
    assert cell(cr.randn(10))[0].shape == (20,)


def test_packing_errors_like_torch():
    x = cr.randn(4, 3, 2)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order when `enforce_sorted` is True"):
        pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        pack_padded_sequence(x, [4, 2, 0])
    with pytest.raises(RuntimeError, match="Expected `len\\(lengths\\)` to be equal to batch_size, but got 2"):
        pack_padded_sequence(x, [4, 2])
    with pytest.raises(RuntimeError, match="exceeds the 4 time steps"):
        pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest"):
        pad_packed_sequence(pack_padded_sequence(x, [4, 2, 1]), total_length=3)
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right, but got middle."):
        pad_sequence([cr.ones(2)], padding_side="middle")
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        pad_sequence([])


# -- training ---------------------------------------------------------------------------------------------


class CharLM(nn.Module):
    def __init__(self, vocab: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.lstm = nn.LSTM(8, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        return self.head(self.lstm(self.embed(x))[0])


def test_character_level_lstm_language_model_learns_generated_text():
    cr.manual_seed(0)
    text = "".join(rng.choice(["hello world ", "hold the door ", "wordle "], size=60))
    vocab = sorted(set(text))
    ids = np.array([vocab.index(ch) for ch in text])
    starts = np.arange(0, len(ids) - 17, 5)
    windows = np.stack([ids[s:s + 17] for s in starts])
    x, y = cr.tensor(windows[:, :-1]), cr.tensor(windows[:, 1:])
    model = CharLM(len(vocab), 32)
    opt = cr.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(x).reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 2.0 and losses[-1] < 0.35 * losses[0]


# -- optional parity with torch (same weights through state_dict) -----------------------------------------

PARITY = [("RNN", dict(num_layers=2, nonlinearity="relu", bidirectional=True)),
          ("GRU", dict(num_layers=2, batch_first=True, bidirectional=True)),
          ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
          ("LSTM", dict(bias=False, batch_first=True))]


@pytest.mark.parametrize("name, kw", PARITY)
@pytest.mark.parametrize("packed", [False, True])
def test_parity_with_torch_from_its_state_dict(name, kw, packed):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(4, 5, **kw).double()
    ours = getattr(nn, name)(4, 5, **kw, dtype=cr.float64)
    result = ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    x = rng.standard_normal((3, 6, 4) if kw.get("batch_first") else (6, 3, 4))
    lengths = [6, 2, 4]
    batch_first = kw.get("batch_first", False)

    def run(lib, module, x_np):
        x = lib.tensor(x_np, requires_grad=True)
        inp = lib.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False) \
            if packed else x
        out, hidden = module(inp)
        if packed:
            out = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first)[0]
        h = hidden[0] if name == "LSTM" else hidden
        (out.sin().sum() + (h * h).sum()).backward()
        return out, h, x.grad, [p.grad for p in module.parameters()]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine, ref = run(cr, ours, x), run(torch, theirs, x)
    for a, b in zip(mine[:3], ref[:3]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12)
    for a, b in zip(mine[3], ref[3]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_parity_with_torch(name):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(4, 5).double()
    ours = getattr(nn, name)(4, 5, dtype=cr.float64)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((3, 4))
    a = ours(cr.tensor(x))
    b = theirs(torch.tensor(x))
    for u, v in zip(a if name == "LSTMCell" else (a,), b if name == "LSTMCell" else (b,)):
        np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=1e-10, atol=1e-12)
