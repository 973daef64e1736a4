"""Packed sequences: pack_padded_sequence, pad_packed_sequence, pad_sequence, pack_sequence (as torch.nn.utils.rnn)."""

__all__ = []
