"""Op database entries: the dropout family of nn.functional beyond ``dropout`` (see opdb/__init__.py). Random
masks differ from call to call, so only the deterministic cases are entries (identity when not training or
p = 0, all dropped at p = 1); tests/nn/test_dropout_family.py checks the masks and the scaling."""

import numpy as np

import chainrule.nn.functional as F

from . import arrays
from .nn_functional import one

ENTRIES = [
    one("dropout1d", lambda x: F.dropout1d(x, p=0.0), arrays((2, 3, 4), seed=40), lambda x: x),
    one("dropout1d:eval", lambda x: F.dropout1d(x, 0.5, training=False), arrays((3, 4), seed=41), lambda x: x),
    one("dropout2d", lambda x: F.dropout2d(x, p=0.0), arrays((2, 3, 2, 2), seed=42), lambda x: x),
    one("dropout2d:all", lambda x: F.dropout2d(x, p=1.0), arrays((2, 3, 2, 2), seed=43), np.zeros_like),
    one("dropout3d", lambda x: F.dropout3d(x, 0.3, training=False), arrays((2, 2, 2, 2), seed=44), lambda x: x),
    one("alpha_dropout", lambda x: F.alpha_dropout(x, 0.5), arrays((3, 4), seed=45), lambda x: x),
    one("alpha_dropout:all", lambda x: F.alpha_dropout(x, 1.0, True), arrays((3, 4), seed=46), np.zeros_like),
    one("feature_alpha_dropout", lambda x: F.feature_alpha_dropout(x, 0.0, True), arrays((2, 3, 4), seed=47),
        lambda x: x),
]
