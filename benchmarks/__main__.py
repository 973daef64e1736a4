"""Run every benchmark: ``python -m benchmarks``."""

import importlib
import os

import numpy  # noqa: F401  (loaded first so threadpoolctl can see its BLAS)

from ._common import optional

MODULES = ("overhead", "mlp", "hessian", "per_sample_grads", "distributed", "lstm", "transformer", "compile")


def main() -> None:
    threadpoolctl = optional("threadpoolctl")
    if threadpoolctl is not None:
        blas = [f"{i['internal_api']} ({i.get('architecture')})" for i in threadpoolctl.threadpool_info()
                if i.get("user_api") == "blas"]
        print("BLAS:", ", ".join(blas) or "unknown")
    print("OPENBLAS_CORETYPE =", os.environ.get("OPENBLAS_CORETYPE"))
    for name in MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError:
            continue
        module.main()


if __name__ == "__main__":
    main()
