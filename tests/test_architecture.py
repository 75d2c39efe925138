"""The package's layering (docs/architecture.md), checked on the code itself.

Read off the imports and the syntax tree, so a change that breaks a rule fails here with the
module and the line, not in review: no import loop, no library module that reads the
parameter mapping, and no evaluation or inference code that imports training code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import points2sound

PACKAGE = "points2sound"
PACKAGE_DIR = Path(points2sound.__file__).parent

GLUE = ("cli", "stages", "graph", "dvc_yaml", "codedeps", "config", "settings", "__main__")
LIBRARY = ("data", "render", "geometry", "sparse", "models", "train", "evaluate", "infer", "report")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        out[".".join((PACKAGE, *parts))] = path
    return out


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules one module imports (anywhere in its body); `from pkg import sub` names sub."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & set(modules)
            found |= subs if subs and len(subs) == len(node.names) else ({target} & set(modules)) | subs
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(m, p, modules) - {m} for m, p in modules.items()}


def _top(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_no_import_loop():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph.get(m, ())):
            assert state.get(t) != 1, "import loop: " + " -> ".join([*path[path.index(t) :], t])
            if t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def _params_reads(tree: ast.AST) -> list[int]:
    """Lines that take or index the parameter mapping (an argument or a name called `params`)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.arg == "params":
            lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "params":
            lines.append(node.lineno)
    return lines


def test_library_code_takes_settings_not_the_parameter_mapping():
    found = []
    for module, path in _modules().items():
        if _top(module) in LIBRARY:
            found += [f"{path.relative_to(PACKAGE_DIR)}:{line}" for line in _params_reads(ast.parse(path.read_text()))]
    assert not found, f"library code reads the parameter mapping (build typed settings in settings/): {found}"


def test_the_layers_import_downward_only():
    wrong = []
    for module, targets in _graph().items():
        top = _top(module)
        for target in targets:
            to = _top(target)
            if top in LIBRARY and to in GLUE and to != "settings":
                wrong.append(f"{module} -> {target} (library code imports the glue)")
            if top in ("evaluate", "infer") and to == "train":
                wrong.append(f"{module} -> {target} (evaluation and inference load models through models.loading)")
            if top == "settings" and to in LIBRARY + tuple(g for g in GLUE if g != "settings"):
                wrong.append(f"{module} -> {target} (settings sit below the library)")
    assert not wrong, wrong


def test_the_checks_see_a_parameter_read():
    """The rule above can fail: a parameter read is found in a snippet, an attribute read is not."""
    assert _params_reads(ast.parse("def f(params):\n    return params['scenes']\n")) == [1, 2]
    assert _params_reads(ast.parse("def f(cfg):\n    return cfg.voxel_size_m\n")) == []
