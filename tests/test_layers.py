"""One-way layers: every import inside mmcourse/ (function-level ones included) points to
its own layer or one below, and no modules import each other in a circle. The layers are
``mmcourse.layers.LAYERS``; the README and the package docstring show them as
``mmcourse.layers.diagram()`` draws them.
"""

import ast
import textwrap
from pathlib import Path

import pytest

from mmcourse import layers
from tests.helpers import ROOT

PACKAGE = ROOT / "mmcourse"
LAYERS = [(layer, [m.rstrip("/") for m, _ in modules]) for layer, modules in layers.LAYERS]
FACADE = {"mmcourse", "mmcourse.__main__"}  # the package's front door may import anything


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported mmcourse module) for every import statement anywhere in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if t and t != module and t.startswith("mmcourse"):
                found.append((node.lineno, t))
    return found


def layer_of(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else ""
    for rank, (_, names) in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in mmcourse/layers.py")


def test_every_module_has_a_layer():
    for module in MODULES:
        if module not in FACADE:
            layer_of(module)


@pytest.mark.parametrize("module", sorted(set(MODULES) - FACADE))
def test_imports_point_down(module):
    mine = layer_of(module)
    up = [f"line {line}: imports {target} ({LAYERS[layer_of(target)][0]})"
          for line, target in _imports(module, MODULES[module])
          if target not in FACADE and layer_of(target) > mine]
    assert not up, f"{module} ({LAYERS[mine][0]}) imports up a layer:\n  " + "\n  ".join(up)


def test_no_module_imports_the_package_facade():
    offenders = [f"{m} line {line}" for m, p in MODULES.items() if m not in FACADE
                 for line, target in _imports(m, p) if target == "mmcourse"]
    assert not offenders, f"import the module you need, not the whole package: {offenders}"


def test_no_import_cycles():
    edges = {m: {t for _, t in _imports(m, p) if t not in FACADE} for m, p in MODULES.items() if m not in FACADE}
    # A package's __init__ importing its own submodules is how a package exposes them; a cycle
    # through it is still a cycle when the submodule imports the package back.
    cycles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for t in sorted(edges.get(m, ())):
            if state.get(t) == "open":
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles)


@pytest.mark.parametrize(("path", "indent"), [("README.md", 2), ("mmcourse/__init__.py", 4)])
def test_the_diagrams_show_the_layers_the_test_enforces(path, indent):
    text = (ROOT / path).read_text(encoding="utf-8")
    assert textwrap.indent(layers.diagram(), " " * indent) in text, (f"{path}'s layer diagram differs from mmcourse/layers.py; paste "
                                      f"`python -c 'from mmcourse import layers; print(layers.diagram())'`:\n"
                                      f"{layers.diagram()}")


def test_every_listed_module_exists():
    missing = [m for m in layers.layer_names() if not ((PACKAGE / m).is_dir() or (PACKAGE / f"{m}.py").exists())]
    assert not missing, f"mmcourse/layers.py lists modules that do not exist: {missing}"
