"""Run every benchmark: ``python -m benchmarks``, or some by name: ``python -m benchmarks convnet mlp``
(``python -m benchmarks issue11`` runs the workloads of issue 11: overhead, mlp, convnet, memory, jacobian)."""

import importlib
import os
import sys

import numpy  # noqa: F401  (loaded first so threadpoolctl can see its BLAS)

import chainrule

from ._common import optional

MODULES = ("overhead", "mlp", "convnet", "memory", "jacobian", "hessian", "per_sample_grads", "distributed", "lstm",
           "transformer", "compile")
GROUPS = {"issue11": ("overhead", "mlp", "convnet", "memory", "jacobian")}


def main() -> None:
    threadpoolctl = optional("threadpoolctl")
    if threadpoolctl is not None:
        blas = [f"{i['internal_api']} ({i.get('architecture')}, {i.get('num_threads')} threads)"
                for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
        print("BLAS:", ", ".join(blas) or "unknown")
    for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        print(f"{variable} =", os.environ.get(variable))
    if hasattr(os, "getloadavg"):
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"chainrule {chainrule.__version__}, {chainrule.get_num_threads()} BLAS threads")
    torch = optional("torch")
    if torch is not None:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    names = [m for arg in sys.argv[1:] for m in GROUPS.get(arg, (arg,))] or MODULES
    for name in names:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError:
            continue
        module.main()


if __name__ == "__main__":
    main()
