"""chainrule: automatic differentiation you can read, with PyTorch's API on NumPy.

``import chainrule`` and use it as you would ``torch``: tensors, ops, ``backward()``, ``autograd.grad``.
"""

from . import (
                     autograd,
                     compiler,
                     cuda,
                     datasets,
                     distributed,
                     func,
                     functional,
                     linalg,
                     nn,
                     ops,
                     optim,
                     special,
                     testing,
                     utils,
                     viz,
)
from ._backend import device, get_default_device, set_default_device
from ._dtype import (
                     bool,
                     double,
                     dtype,
                     float,
                     float16,
                     float32,
                     float64,
                     get_default_dtype,
                     half,
                     int,
                     int8,
                     int16,
                     int32,
                     int64,
                     is_floating_point,
                     long,
                     promote_types,
                     result_type,
                     set_default_dtype,
                     short,
                     uint8,
)
from ._state import (
                     enable_grad,
                     inference_mode,
                     is_grad_enabled,
                     is_inference_mode_enabled,
                     no_grad,
                     set_grad_enabled,
)
from ._threads import apply_default as _apply_default_threads
from ._threads import get_num_interop_threads, get_num_threads, set_num_interop_threads, set_num_threads
from .compiler import compile
from .creation import *
from .func import vmap
from .functional import chain_matmul, pca_lowrank, svd_lowrank, unravel_index
from .ops import *
from .ops.sampling import bernoulli, multinomial, normal, poisson
from .ops.shape import broadcast_shapes
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import load, save
from .tensor import Size, Tensor, set_printoptions
from .viz import explain

__version__ = "0.1.0"

_apply_default_threads()  # NOTE: one BLAS thread unless the environment chose a count (see _threads)
