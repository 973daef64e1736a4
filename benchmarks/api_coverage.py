"""API coverage audit: which of PyTorch 2.13's public names chainrule still lacks.

Compares, name by name, ``torch.nn``'s module classes, ``torch.nn.functional``'s functions, ``torch.Tensor``'s
public methods and attributes, ``torch.special``, ``torch.linalg``, ``torch.optim`` (with ``lr_scheduler``) and the
torch-level functions (issue 13's first, then the rest) with chainrule's, and prints what is missing, section by
section. Names that are out of scope are left out with the reason (``--excluded`` prints them too).

Run: ``PYTHONPATH=src /tmp/torchenv/bin/python -m benchmarks.api_coverage [--excluded]`` (needs torch installed;
a name is "present" when ``hasattr`` finds it, so behaviour is the tests' job, not this script's).
"""

from __future__ import annotations

import re
import sys
import types

import chainrule
import chainrule.nn.functional

from ._common import optional

# NOTE: out of scope by design: chainrule is a CPU, dense, real-dtype library on NumPy without TorchScript,
# quantisation, ONNX export or named tensors. Each rule is (pattern on the name, why).
OUT_OF_SCOPE = [
    (r"^(cuda|xpu|ipu|mtia|mps|maia|hpu|is_cuda|is_xpu|is_ipu|is_mtia|is_mps|is_maia|is_hpu|is_xla|is_vulkan"
     r"|is_mkldnn|to_mkldnn|is_meta|record_stream|pin_memory|is_pinned)$", "device backends other than the CPU"),
    (r"^(q_|qscheme|int_repr|dequantize|is_quantized|quantize|quantized_|fake_quantize)",
     "quantisation (no quantised dtypes)"),
    (r"(sparse|coalesce|indices$|^values$|^crow_|^ccol_|^col_|^row_indices|^smm$|^sspaddmm$|^to_dense$"
     r"|^dense_dim$|^is_sparse|^SparseAdam$)", "sparse layouts (dense arrays only)"),
    (r"^(conj|conj_physical|conj_physical_|is_conj|resolve_conj|resolve_neg|is_neg|real|imag|angle|cdouble|cfloat"
     r"|chalf|sgn|sgn_|adjoint|is_complex|view_as_real|view_as_complex|polar|complex)$",
     "complex dtypes (not supported; real-only angle/real/imag would mislead)"),
    (r"^(bfloat16|chalf)$", "dtypes NumPy lacks"),
    (r"^(share_memory_|is_shared|is_distributed|storage|storage_type|untyped_storage|storage_offset|data_ptr"
     r"|const_data_ptr|set_|is_set_to|resize|resize_|resize_as|resize_as_|module_load|new|reinforce|volatile"
     r"|output_nr|name|names|refine_names|rename|rename_|align_as|align_to|has_names|dim_order|hash_tensor"
     r"|grad_dtype|nonzero_static|is_nested|to_padded_tensor|as_subclass|apply_|map_|map2_|unsafe_chunk"
     r"|unsafe_split|unsafe_split_with_sizes|slice_inverse)$",
     "storage, multiprocessing, legacy, named-tensor or nested-tensor internals (no storage objects)"),
    (r"^(symeig|eig|lstsq|solve)$", "removed from torch (they raise there; use chainrule.linalg)"),
    (r"^(handle_torch_function|has_torch_function.*|boolean_dispatch|assert_int_or_pair|Optional|conv_tbc"
     r"|native_channel_shuffle|grouped_mm|scaled_grouped_mm|scaled_mm)$",
     "torch internals, typing re-exports or CUDA/float8-only kernels"),
    (r"^(Container)$", "deprecated in torch (warns: use Sequential)"),
    (r"^(cudnn_|miopen_|mkldnn_|fbgemm_|native_|batch_norm_(backward|elemt|gather|stats|update)|choose_qparams"
     r"|fused_moving_avg|segment_reduce|norm_except_dim|sym_|.*autocast|.*_copy$|import_ir_module|parse_ir"
     r"|parse_schema|parse_type_comment|merge_type_from_type_comment|unify_type_list|fork$|wait$|while_loop$"
     r"|cond$|compiled_with_cxx11_abi|classproperty|thread_safe_generator|prepare_multiprocessing_environment"
     r"|profiler_|get_file_path|from_file$|init_num_threads|is_vulkan_available|empty_quantized|empty_permuted"
     r"|affine_grid_generator|grid_sampler|constant_pad_nd|convolution$|saddmm|dsmm|hsmm|hspmm|spmm"
     r"|get_device_module|set_flush_denormal|feature_dropout|embedding_renorm_|rnn_(relu|tanh)|lstm$|gru$"
     r"|lstm_cell|gru_cell)", "torch internals (kernels behind nn/functional, JIT, sparse or backend plumbing)"),
    (r"^(layout|index)$", "a single (strided) layout; torch's internal indexing entry point"),
    (r"^(convert_conv[23]d_weight_memory_format|clip_grad_norm|functionalize|debug_unwrap)$",
     "memory formats (dense row-major only), torch's deprecated clip_grad_norm, functionalization internals"),
    (r"^(istft|stft)$", "complex outputs"),
    (r"^_", "private"),
]

# The torch-level functions issue 13 names (plus the core ones a user reaches for first).
ISSUE_13_TORCH = """
asin acos atan atan2 sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh arctan2 erfc erfinv
lgamma digamma polygamma logit xlogy sinc hypot logaddexp logaddexp2 lerp addcmul addcdiv float_power fmod remainder
frac fmax fmin copysign nextafter ldexp deg2rad rad2deg nan_to_num signbit heaviside gcd lcm bitwise_and bitwise_or
bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift logical_and logical_or logical_xor logical_not
isclose allclose equal isin isneginf isposinf isreal
cumprod cummax cummin logcumsumexp median nanmedian mode kthvalue quantile nanquantile nansum nanmean std_mean
var_mean aminmax count_nonzero histc bincount diff trapezoid cumulative_trapezoid
sort argsort msort topk unique unique_consecutive searchsorted bucketize nonzero argwhere masked_select take
take_along_dim scatter scatter_reduce scatter_add index_add index_copy index_fill index_put index_select gather
meshgrid cartesian_prod combinations tensordot kron block_diag cdist diag_embed diagflat tril_indices triu_indices
atleast_1d atleast_2d atleast_3d hstack vstack dstack column_stack row_stack hsplit vsplit dsplit tensor_split
split_with_sizes swapdims swapaxes moveaxis movedim narrow select unflatten repeat_interleave roll rot90 fliplr
flipud broadcast_tensors broadcast_shapes as_strided logspace linspace arange full_like empty_strided frombuffer
asarray from_numpy hann_window hamming_window blackman_window bartlett_window kaiser_window
bernoulli multinomial poisson normal rand randn randint rand_like randn_like randint_like randperm Generator
manual_seed seed initial_seed get_rng_state set_rng_state
set_printoptions inference_mode is_inference_mode_enabled get_num_threads set_num_threads is_tensor
is_floating_point numel clamp clip where einsum matmul bmm mm outer cross dist cov corrcoef diagonal_scatter
select_scatter slice_scatter renorm clamp_min clamp_max fix positive negative frexp i0 mvlgamma igamma igammac
histogram cumsum prod amax amin logsumexp softmax log_softmax std var norm flatten chunk split stack cat concat
concatenate squeeze unsqueeze permute transpose reshape flip tile trace tril triu zeros_like ones_like empty_like
eye full zeros ones empty tensor as_tensor is_nonzero is_same_size is_signed square rsqrt erf exp2 expm1 log1p
""".split()

TORCH_TESTING = ["assert_close", "make_tensor"]


def _missing(names, target) -> list[str]:
    return sorted(name for name in set(names) if not hasattr(target, name))


def _excluded(name: str) -> str | None:
    for pattern, why in OUT_OF_SCOPE:
        if re.search(pattern, name):
            return why
    return None


def _public_functions(module) -> list[str]:
    return [name for name in dir(module) if not name.startswith("_")
            and callable(getattr(module, name)) and not isinstance(getattr(module, name), types.ModuleType)]


def sections(torch) -> list[tuple[str, list[str], object]]:
    """(title, torch's names, the chainrule object they should be found on) for each audited namespace."""
    nn_names = [name for name in torch.nn.modules.__all__] + ["Parameter", "UninitializedParameter",
                                                            "UninitializedBuffer", "Buffer"]
    functional = [name for name in _public_functions(torch.nn.functional)
                  if not isinstance(getattr(torch.nn.functional, name), type)]
    tensor = [name for name in dir(torch.Tensor) if not name.startswith("_")]
    optim = [name for name in torch.optim.__all__ if isinstance(getattr(torch.optim, name), type)]
    schedulers = [name for name in torch.optim.lr_scheduler.__all__]
    return [
        ("torch.nn (module classes and parameters)", nn_names, chainrule.nn),
        ("torch.nn.modules.lazy", ["LazyModuleMixin"], getattr(chainrule.nn.modules, "lazy", None)),
        ("torch.nn.functional", functional, chainrule.nn.functional),
        ("torch.Tensor (methods and attributes)", tensor, chainrule.Tensor),
        ("torch (issue 13's functions)", ISSUE_13_TORCH, chainrule),
        ("torch (every other top-level function)",
         # NOTE: torch's top-level in-place forms (torch.exp_(x)) are left out; users call the Tensor methods.
         [name for name in _public_functions(torch) if name.islower() and name not in ISSUE_13_TORCH
          and not name.endswith("_") and not isinstance(getattr(torch, name), type)], chainrule),
        ("torch.special", [n for n in torch.special.__all__], getattr(chainrule, "special", None)),
        ("torch.linalg", _public_functions(torch.linalg), chainrule.linalg),
        ("torch.optim", optim, chainrule.optim),
        ("torch.optim.lr_scheduler", schedulers, chainrule.optim.lr_scheduler),
        ("torch.testing", TORCH_TESTING, chainrule.testing),
        ("torch.nn.init", [n for n in _public_functions(torch.nn.init) if n.endswith("_") or n == "calculate_gain"],
         chainrule.nn.init),
        ("torch.nn.utils", _public_functions(torch.nn.utils), chainrule.nn.utils),
        ("torch.nn.utils.rnn", torch.nn.utils.rnn.__all__, chainrule.nn.utils.rnn),
        ("torch.autograd", [n for n in torch.autograd.__all__], chainrule.autograd),
        ("torch.func", _public_functions(torch.func), chainrule.func),
    ]


def main(argv: list[str] | None = None) -> int:
    """Print each section's missing names; return how many in-scope names are missing in all."""
    argv = sys.argv[1:] if argv is None else argv
    torch = optional("torch")
    if torch is None:
        print("api_coverage: torch is not installed; nothing to compare with")
        return 0
    total = 0
    for title, names, target in sections(torch):
        absent = sorted(set(names)) if target is None else _missing(names, target)
        wanted = [name for name in absent if _excluded(name) is None]
        skipped = [(name, _excluded(name)) for name in absent if _excluded(name) is not None]
        total += len(wanted)
        print(f"\n{title}: {len(set(names)) - len(absent)} of {len(set(names))} present; "
              f"{len(wanted)} missing in scope, {len(skipped)} out of scope")
        for name in wanted:
            print(f"  MISSING {name}")
        if "--excluded" in argv:
            for name, why in skipped:
                print(f"  excluded {name}: {why}")
    print(f"\nin-scope names missing: {total}")
    return total


if __name__ == "__main__":
    main()
