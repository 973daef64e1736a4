"""Library functions compute through ops, never on a tensor's raw array (that silently breaks vmap, forward
mode, recorded programs and devices). A scan of the modules that sit on top of the primitives: every use of
``._data`` reads only metadata (shape, dtype, ...), except the places listed here, each with its reason."""

import ast
import pathlib

import chainrule

ROOT = pathlib.Path(chainrule.__file__).parent
SCANNED = ["ops/composites.py", "nn/functional", "nn/modules", "optim"]
METADATA = {"shape", "dtype", "ndim", "size", "itemsize", "nbytes"}
# (file, function): why it may touch raw values.
ALLOWED = {
    ("nn/functional/sparse.py", "_renorm_rows"): "embedding's max_norm renormalises the weight in place, without "
                                                 "recording (torch's embedding_renorm_)",
    ("nn/functional/sparse.py", "embedding"): "validates the indices' range (raises; computes nothing)",
    ("nn/functional/sparse.py", "_check_offsets"): "embedding_bag validates its offsets (raises; computes nothing)",
    ("nn/functional/sparse.py", "one_hot"): "infers num_classes and validates the range, as torch does",
    ("nn/functional/loss.py", "binary_cross_entropy"): "validates that inputs are probabilities (raises)",
    ("nn/functional/loss.py", "_target_terms"): "validates the class indices' range (raises)",
    ("ops/composites.py", "_check_margin_inputs"): "validates the class indices' range (raises)",
    ("nn/modules/module.py", "_apply_to_tensors"): "Module.to/float/double swap parameters' storage (torch's "
                                                   "_apply)",
}


def _raw_uses(path: pathlib.Path):
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "_data":
            parent = parents.get(node)
            if isinstance(parent, ast.Attribute) and parent.attr in METADATA:
                continue
            function = parent
            while function is not None and not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = parents.get(function)
            yield (function.name if function else "<module>"), node.lineno


def test_no_library_function_computes_on_raw_arrays():
    found = []
    for entry in SCANNED:
        target = ROOT / entry
        for path in ([target] if target.is_file() else sorted(target.rglob("*.py"))):
            rel = path.relative_to(ROOT).as_posix()
            for function, line in _raw_uses(path):
                if (rel, function) not in ALLOWED:
                    found.append(f"{rel}:{line} in {function}")
    assert not found, "raw-array computation outside a primitive:\n" + "\n".join(found)
