"""``chainrule.nn.functional``: the function form of every layer, activation and loss (``import ... as F``).

Mirrors ``torch.nn.functional``: same names, arguments and defaults. Everything here is built from
differentiable chainrule ops, so gradients (and gradients of gradients) come for free.
"""

from ...ops.conv import fold, unfold
from ...ops.join import pad
from .activation import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus, tanh
from .conv import conv2d
from .dropout import dropout
from .linear import linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    multi_margin_loss,
    nll_loss,
    smooth_l1_loss,
)
from .normalization import batch_norm, layer_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .sparse import embedding, one_hot

__all__ = ["linear", "conv2d", "unfold", "fold", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
           "batch_norm", "layer_norm", "dropout", "embedding", "one_hot", "pad", "relu", "leaky_relu", "elu",
           "gelu", "silu", "softplus", "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy",
           "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "multi_margin_loss", "kl_div"]
