"""``chainrule.nn.utils``: gradient clipping, flattening parameters, packed sequences and parametrizations."""

from . import parametrizations, parametrize, rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .hooked_norms import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm
from .init import skip_init

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "rnn",
           "parametrizations", "parametrize", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights", "weight_norm", "remove_weight_norm",
           "spectral_norm", "remove_spectral_norm", "skip_init"]
