"""Op database entries: the normalisation functions of ``chainrule.nn.functional`` added for issue 12."""

import numpy as np

import chainrule.nn.functional as F

from . import arrays
from .nn_functional import np_normalize, one


def np_lrn(x, size, alpha=1e-4, beta=0.75, k=1.0):
    sq = np.moveaxis(x * x, 1, -1)
    padded = np.pad(sq, [(0, 0)] * (sq.ndim - 1) + [(size // 2, (size - 1) // 2)])
    window = sum(padded[..., i:i + x.shape[1]] for i in range(size)) / size
    return x / (np.moveaxis(window, -1, 1) * alpha + k) ** beta


def np_group_norm(x, groups, w=None, b=None):
    out = np_normalize(x.reshape(x.shape[0], groups, -1), -1).reshape(x.shape)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return out if w is None else out * w.reshape(shape) + b.reshape(shape)


ENTRIES = [
    one("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), arrays((2, 3, 4), (3,), (3,), seed=300),
        lambda x, w, b: np_normalize(x, -1) * w[:, None] + b[:, None]),
    one("instance_norm:2d_plain", F.instance_norm, arrays((2, 2, 3, 3), seed=301),
        lambda x: np_normalize(x, (-2, -1))),
    one("instance_norm:running", lambda x, m, v: F.instance_norm(x, m, v, use_input_stats=False),
        (*arrays((2, 3, 4), (3,), seed=302), *arrays((3,), low=0.5, high=2, seed=303)),
        lambda x, m, v: (x - m[:, None]) / np.sqrt(v[:, None] + 1e-5)),
    one("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), arrays((2, 4, 3), (4,), (4,), seed=304),
        lambda x, w, b: np_group_norm(x, 2, w, b)),
    one("group_norm:spatial_plain", lambda x: F.group_norm(x, 3), arrays((2, 3, 2, 2), seed=305),
        lambda x: np_group_norm(x, 3)),
    one("rms_norm", lambda x, w: F.rms_norm(x, (4,), w), arrays((3, 4), (4,), seed=306),
        lambda x, w: x / np.sqrt((x * x).mean(-1, keepdims=True) + np.finfo(np.float64).eps) * w),
    one("rms_norm:2d_eps", lambda x: F.rms_norm(x, (2, 3), eps=0.1), arrays((2, 2, 3), seed=307),
        lambda x: x / np.sqrt((x * x).mean((-2, -1), keepdims=True) + 0.1)),
    one("local_response_norm", lambda x: F.local_response_norm(x, 3, alpha=0.5, k=2.0),
        arrays((2, 4, 3), seed=308), lambda x: np_lrn(x, 3, alpha=0.5, k=2.0)),
    one("local_response_norm:4d_even", lambda x: F.local_response_norm(x, 2, alpha=0.3, beta=0.5),
        arrays((1, 3, 2, 2), seed=309), lambda x: np_lrn(x, 2, alpha=0.3, beta=0.5)),
    one("normalize", F.normalize, arrays((3, 4), seed=310),
        lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)),
    one("normalize:p1_dim0", lambda x: F.normalize(x, p=1, dim=0), arrays((3, 4), seed=311),
        lambda x: x / np.abs(x).sum(0, keepdims=True)),
]
