"""Packed sequences: pack_padded_sequence, pad_packed_sequence, pad_sequence, pack_sequence (as torch.nn.utils.rnn).

A batch of sequences of different lengths is packed time step by time step: ``data`` holds, for t = 0, 1, ...,
the t-th element of every sequence still running (longest sequences first), and ``batch_sizes[t]`` says how
many there are. Recurrent layers run on the packed form without computing on padding. Packing and unpacking
are each one gather (``index_select``), so gradients flow through them.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable

from ... import creation
from ..._dtype import int64
from ...ops.indexing import index_select
from ...ops.join import cat, stack
from ...tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence", "invert_permutation"]


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of ``0..n-1`` (None stays None): ``out[permutation[i]] = i``."""
    if permutation is None:
        return None
    order = permutation.tolist()
    inverse = [0] * len(order)
    for i, j in enumerate(order):
        inverse[j] = i
    return creation.tensor(inverse, dtype=int64)


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences packed time step by time step (see the module docstring).

    Fields: ``data`` (sum of the lengths, *), ``batch_sizes`` (int64, one per time step), ``sorted_indices``
    (int64: the batch position of the i-th longest sequence; None when the batch was already sorted) and
    ``unsorted_indices`` (its inverse). Build one with :func:`pack_padded_sequence` or :func:`pack_sequence`;
    ``RNN``, ``LSTM`` and ``GRU`` accept it and return their output packed the same way.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data.to(...)``; the index tensors stay int64 (they follow a device change only)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, *[None if t is None else t.to(device=data.device)
                                                    for t in (self.sorted_indices, self.unsorted_indices)])

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=self.data.double().dtype)

    def float(self) -> PackedSequence:
        return self.to(dtype=self.data.float().dtype)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _lengths_list(lengths) -> list:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.dim()}D "
                               f"{lengths.dtype} tensor")
        lengths = lengths.tolist()
    return [int(n) for n in lengths]


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``input`` (T, B, *) (``(B, T, *)`` if ``batch_first``) of sequences of ``lengths``.

    ``lengths`` (a list or a 1-D int64 tensor, each in 1..T) must be decreasing when ``enforce_sorted``;
    otherwise the batch is sorted here and the permutation kept in ``sorted_indices``.

    Example::

        >>> packed = pack_padded_sequence(chainrule.arange(6.).reshape(3, 2), [3, 1])
        >>> packed.data.tolist(), packed.batch_sizes.tolist()
        ([0.0, 1.0, 2.0, 4.0], [2, 1, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence(): argument 'input' must be Tensor, not {type(input).__name__}")
    lengths = _lengths_list(lengths)
    if input.dim() < 2:
        raise RuntimeError(f"pack_padded_sequence: input must have a time and a batch dimension, got shape "
                           f"{tuple(input.shape)}")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if len(lengths) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
                           f"(batch_size={batch})")
    if any(n <= 0 for n in lengths):
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if max(lengths) > steps:
        raise RuntimeError(f"pack_padded_sequence: a length of {max(lengths)} exceeds the {steps} time steps of "
                           f"input of shape {tuple(input.shape)} (batch_first={batch_first})")
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                               "sidestep this requirement if you do not need ONNX exportability.")
        order, sorted_indices = list(range(batch)), None
    else:
        order = sorted(range(batch), key=lambda b: -lengths[b])
        sorted_indices = creation.tensor(order, dtype=int64)
    batch_sizes = [sum(1 for n in lengths if n > t) for t in range(lengths[order[0]])]
    # NOTE: the position of (t, b) in input flattened over its first two dimensions.
    rows = [b * steps + t if batch_first else t * batch + b
            for t, size in enumerate(batch_sizes) for b in order[:size]]
    flat = input.reshape((steps * batch,) + tuple(input.shape[2:]))
    data = index_select(flat, 0, creation.tensor(rows, dtype=int64))
    return PackedSequence(data, creation.tensor(batch_sizes, dtype=int64), sorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: ``(padded, lengths)`` with ``padded`` (T, B, *) (``(B, T, *)`` if
    ``batch_first``), T the longest length (or ``total_length``), padding filled with ``padding_value``, and
    ``lengths`` (int64) in the original batch order.

    Example::

        >>> packed = pack_sequence([chainrule.tensor([1., 2.]), chainrule.tensor([3.])])
        >>> pad_packed_sequence(packed, batch_first=True, padding_value=-1.)[0].tolist()
        [[1.0, 2.0], [3.0, -1.0]]
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence(): argument 'sequence' must be PackedSequence, not "
                        f"{type(sequence).__name__}")
    data, batch_sizes = sequence.data, sequence.batch_sizes.tolist()
    steps, batch = len(batch_sizes), batch_sizes[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    unsorted = list(range(batch)) if sequence.unsorted_indices is None else sequence.unsorted_indices.tolist()
    offsets = [0]
    for size in batch_sizes:
        offsets.append(offsets[-1] + size)
    pad_row = offsets[-1]  # NOTE: one row of padding_value appended after the data; padding positions read it.

    def row(t: int, b: int) -> int:
        j = unsorted[b]
        return offsets[t] + j if t < len(batch_sizes) and j < batch_sizes[t] else pad_row

    positions = [(t, b) for b in range(batch) for t in range(steps)] if batch_first else \
        [(t, b) for t in range(steps) for b in range(batch)]
    rest = tuple(data.shape[1:])
    source = cat([data, creation.full((1,) + rest, padding_value, dtype=data.dtype)])
    padded = index_select(source, 0, creation.tensor([row(t, b) for t, b in positions], dtype=int64))
    sorted_lengths = [sum(1 for size in batch_sizes if size > j) for j in range(batch)]
    lengths = creation.tensor([sorted_lengths[unsorted[b]] for b in range(batch)], dtype=int64)
    return padded.reshape(((batch, steps) if batch_first else (steps, batch)) + rest), lengths


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (``(B, max L, *)`` if ``batch_first``), padded
    with ``padding_value`` on the ``padding_side`` ('right' or 'left').

    Example::

        >>> pad_sequence([chainrule.ones(2), chainrule.ones(1)], batch_first=True).tolist()
        [[1.0, 1.0], [1.0, 0.0]]
    """
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences).__name__}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    for i, seq in enumerate(sequences):
        if not isinstance(seq, Tensor):
            raise TypeError(f"pad_sequence: expected Tensor as element {i} of 'sequences', but got "
                            f"{type(seq).__name__}")
        if seq.dim() == 0 or seq.shape[1:] != sequences[0].shape[1:]:
            raise RuntimeError(f"pad_sequence: every sequence must be (L_i, *) with the same trailing dimensions, "
                               f"but sequence 0 has shape {tuple(sequences[0].shape)} and sequence {i} has shape "
                               f"{tuple(seq.shape)}")
    longest = max(seq.shape[0] for seq in sequences)
    padded = []
    for seq in sequences:
        missing = longest - seq.shape[0]
        if missing:
            fill = creation.full((missing,) + tuple(seq.shape[1:]), padding_value, dtype=seq.dtype)
            seq = cat([seq, fill] if padding_side == "right" else [fill, seq])
        padded.append(seq)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *) (decreasing lengths unless ``enforce_sorted=False``).

    Example::

        >>> pack_sequence([chainrule.tensor([1, 2, 3]), chainrule.tensor([4, 5])]).data.tolist()
        [1, 4, 2, 5, 3]
    """
    sequences = tuple(sequences)
    lengths = [seq.shape[0] if isinstance(seq, Tensor) and seq.dim() else 0 for seq in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The list of sequences (L_i, *) in a padded batch (the inverse of :func:`pad_sequence`)."""
    lengths = _lengths_list(lengths)
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :n] for b, n in enumerate(lengths)]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences (L_i, *) in a packed batch (the inverse of :func:`pack_sequence`)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
