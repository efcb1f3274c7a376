"""How many lines a user writes per layer in examples/my_layers/, beyond the layer and its reference.

    .venv/bin/python benchmarks/example_lines.py

Per layer of ``examples/my_layers/src/my_layers/specs.py``: the lines of the layer, of its
reference, of its spec, of its own tests and of its zoo entries; "lines" are the non-blank
lines that are not only a comment (docstrings count: they are the specification). The
project-wide files (the shared helpers, ``specs.py``, ``pyproject.toml``) are listed apart.
"""

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(ROOT, "examples", "my_layers")
PACKAGE = os.path.join(PROJECT, "src", "my_layers")


def code_lines(path):
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip() and not line.strip().startswith("#"))


def zoo_lines(path, layer):
    """The lines of the zoo classes whose entry names ``layer`` (read from the module's ``ZOO``)."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    tree = ast.parse(source)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    entries = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "ZOO" for t in node.targets):
            for value in node.value.values:
                name, cls = value.elts
                entries.setdefault(name.value, []).append(cls.id)
    lines = source.splitlines()
    total = 0
    for cls in entries.get(layer, []):
        node = classes[cls]
        total += sum(1 for line in lines[node.lineno - 1 : node.end_lineno] if line.strip() and not line.strip().startswith("#"))
    return len(entries.get(layer, [])), total


def main():
    layers = sorted(
        name[: -len("_spec.py")] for name in os.listdir(PACKAGE) if name.endswith("_spec.py")
    )
    zoo = next(
        (path for path in (os.path.join(PACKAGE, "zoo.py"), os.path.join(PROJECT, "tests", "zoo.py")) if os.path.isfile(path)),
        None,
    )
    print(f"{'layer':<22}{'layer':>7}{'reference':>11}{'spec':>7}{'own tests':>11}{'zoo entries':>13}{'zoo lines':>11}")
    for layer in layers:
        own_tests = os.path.join(PROJECT, "tests", f"test_{layer}.py")
        entries, lines = zoo_lines(zoo, layer) if zoo else (0, 0)
        print(
            f"{layer:<22}{code_lines(os.path.join(PACKAGE, f'{layer}.py')):>7}"
            f"{code_lines(os.path.join(PACKAGE, 'reference', f'{layer}.py')):>11}"
            f"{code_lines(os.path.join(PACKAGE, f'{layer}_spec.py')):>7}"
            f"{code_lines(own_tests) if os.path.isfile(own_tests) else 0:>11}{entries:>13}{lines:>11}"
        )
    shared = sorted(
        os.path.relpath(os.path.join(PACKAGE, name), PROJECT)
        for name in os.listdir(PACKAGE)
        if name.endswith(".py") and not any(name in (f"{l}.py", f"{l}_spec.py") for l in layers) and name != "zoo.py"
    )
    shared.append("pyproject.toml")
    print("shared by the three: " + ", ".join(f"{path} {code_lines(os.path.join(PROJECT, path))}" for path in shared))
    print("(lines: non-blank, not only a comment; docstrings count)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
