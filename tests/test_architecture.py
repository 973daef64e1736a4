"""The import graph follows the layers of STYLE.md, read from the source with ``ast`` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "chainrule"

# NOTE: dependencies point one way, from a higher layer to a lower or the same one. A module takes the layer of
# the longest entry that prefixes its dotted name; anything not listed (nn, optim, viz, cli, utils, linalg,
# distributed, serialization, datasets, ...) is a library on top. ``func`` sits with the engine because
# ``autograd.functional`` (torch's whole-function API) is built on its transforms; func itself needs nothing above
# the engine. The package root only gathers public names: tools on top may look names up in it, nothing below may.
LAYERS = {
    # 0: the array backend, dtypes, mode state, hook handles and file writing: no chainrule imports
    "chainrule._backend": 0, "chainrule._dtype": 0, "chainrule._state": 0, "chainrule._hooks": 0,
    "chainrule._files": 0,
    # 1: the Tensor and the graph nodes it points to
    "chainrule.tensor": 1, "chainrule.autograd.graph": 1,
    # 2: the primitives (the derivatives table) and the factories built on them
    "chainrule.ops": 2, "chainrule.creation": 2, "chainrule.random": 2,
    # 3: the engine and the transforms that run or record graphs of primitives
    "chainrule.autograd": 3, "chainrule.program": 3, "chainrule.func": 3,
}
TOP = 4

# Optional third-party packages may be imported where they are used, so chainrule imports without them.
OPTIONAL = {"graphviz", "matplotlib", "scipy", "mpi4py", "safetensors", "cupy", "tqdm", "sklearn", "selenium",
            "torch", "threadpoolctl"}
# The one module that may import NumPy (STYLE.md, "Devices").
NUMPY_OWNER = "chainrule._backend"


def layer(module: str) -> int:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        found = LAYERS.get(".".join(parts[:end]))
        if found is not None:
            return found
    return TOP


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        yield ".".join(parts), is_package, path


MODULES = {name: (is_package, path) for name, is_package, path in _modules()}


def _targets(node, module: str, is_package: bool):
    """The absolute dotted names an ``import`` statement loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    # ``from pkg import sub`` loads the submodule when there is one, else a name from ``pkg`` itself.
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]


def _imports(tree):
    """(statement, inside_function) for every import, without descending into function bodies twice."""
    stack = [(tree, False)]
    while stack:
        node, in_function = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, in_function
        inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _all_imports():
    for module, (is_package, path) in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, in_function in _imports(tree):
            for target in _targets(node, module, is_package):
                yield module, path.relative_to(SRC), node.lineno, target, in_function


IMPORTS = list(_all_imports())


def test_the_scan_sees_the_package():
    assert {"chainrule.tensor", "chainrule.ops._primitive", "chainrule.autograd.engine"} <= MODULES.keys()
    assert layer("chainrule.ops.arith") == 2 and layer("chainrule.autograd.graph") == 1
    assert layer("chainrule.autograd.engine") == 3 and layer("chainrule.nn.init") == TOP
    assert layer("chainrule") == TOP and layer("chainrule.viz") == TOP
    assert any(target == "chainrule._backend" for _, _, _, target, _ in IMPORTS)


def test_module_level_imports_point_down():
    upward = sorted({f"{path}:{line}: {module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
              for module, path, line, target, in_function in IMPORTS
              if not in_function and target.split(".")[0] == "chainrule" and layer(target) > layer(module)})
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_no_chainrule_imports_inside_functions():
    hidden = sorted({f"{path}:{line}: {target}" for module, path, line, target, in_function in IMPORTS
                     if in_function and target.split(".")[0] not in OPTIONAL})
    assert not hidden, "imports inside functions (import at module level, or move the code down a layer):\n" + \
        "\n".join(hidden)


def test_only_the_backend_imports_numpy():
    direct = [f"{path}:{line}" for module, path, line, target, _ in IMPORTS
              if target.split(".")[0] == "numpy" and module != NUMPY_OWNER]
    assert not direct, f"numpy imported outside {NUMPY_OWNER} (use its names, e.g. `from ._backend import xp`):\n" + \
        "\n".join(direct)
