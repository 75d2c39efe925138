"""The package's layering, read from docs/architecture.md and checked on the code itself.

Read off the imports and the syntax tree, so a change that breaks a rule fails here with the
module and the line, not in review: every unit has a rank in the page's layer table and imports
only lower ranks, no import loop, no library module that reads the parameter mapping, no
evaluation or inference code that imports training code, and every path the page names exists.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import points2sound

PACKAGE = "points2sound"
PACKAGE_DIR = Path(points2sound.__file__).parent
DOC = PACKAGE_DIR.parents[1] / "docs" / "architecture.md"


def _layers() -> dict[str, tuple[int, str]]:
    """unit -> (rank, layer), from the page's table `| rank | layer | units |`."""
    out = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            for unit in re.findall(r"`([^`]+)`", cells[2]):
                out[unit] = (int(cells[0]), cells[1])
    return out


LAYERS = _layers()
LIBRARY = tuple(u for u, (_, layer) in LAYERS.items() if layer == "library")


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


def test_every_unit_of_the_package_has_a_rank():
    units = {p.stem for p in PACKAGE_DIR.glob("*.py") if p.stem != "__init__"}
    units |= {p.name for p in PACKAGE_DIR.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert units == set(LAYERS), (
        f"not in the layer table: {sorted(units - set(LAYERS))}; gone: {sorted(set(LAYERS) - units)}"
    )
    assert {"foa", "vision2d", "pipeline"} <= set(LIBRARY) | {"pipeline"}


def test_imports_go_to_lower_ranks_only():
    wrong = []
    for module, targets in _graph().items():
        top = _top(module)
        for target in targets:
            to = _top(target)
            if top and to and top != to and LAYERS[to][0] >= LAYERS[top][0]:
                wrong.append(f"{module} -> {target} (rank {LAYERS[top][0]} imports rank {LAYERS[to][0]})")
    assert not wrong, wrong


def test_the_page_names_only_paths_that_exist():
    text = DOC.read_text()
    names = set(re.findall(r"`((?:[a-z0-9_]+/)*[a-z0-9_]+\.(?:py|yaml|smk))`", text))
    names |= {f"{m}/" for m in re.findall(r"^  ([a-z0-9_]+)/ ", text, flags=re.M)}
    missing = []
    for name in sorted(names):
        candidates = [PACKAGE_DIR / name, PACKAGE_DIR.parents[1] / name, PACKAGE_DIR.parents[1] / "workflow" / name]
        candidates += [PACKAGE_DIR / "pipeline" / name, PACKAGE_DIR / "data" / name]
        if not any(c.exists() for c in candidates):
            missing.append(name)
    assert len(names) > 40 and not missing, missing


def test_no_issue_numbers_in_code_or_generated_files():
    """Code, comments and what the pipeline writes say why, not which ticket asked for it."""
    root = PACKAGE_DIR.parents[1]
    files = [*PACKAGE_DIR.rglob("*.py"), *root.glob("workflow/**/*.smk"), root / "Snakefile", root / "dvc.yaml"]
    files += [*root.glob("workflow/report/*.rst"), *(PACKAGE_DIR / "schemas").glob("*.yaml"), root / "params.yaml"]
    hits = [
        f"{f.relative_to(root)}:{i}"
        for f in files
        for i, line in enumerate(f.read_text().splitlines(), 1)
        if re.search(r"\bissues? #?\d+", line, flags=re.I)
    ]
    assert not hits, hits


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


def test_evaluation_and_inference_import_no_training_code():
    wrong = [
        f"{m} -> {t}"
        for m, targets in _graph().items()
        for t in targets
        if _top(m) in ("evaluate", "infer") and _top(t) == "train"
    ]
    assert not wrong, f"evaluation and inference load models through models.loading: {wrong}"


def test_the_checks_see_a_parameter_read():
    """The rule above can fail: a parameter read is found in a snippet, an attribute read is not."""
    assert _params_reads(ast.parse("def f(params):\n    return params['scenes']\n")) == [1, 2]
    assert _params_reads(ast.parse("def f(cfg):\n    return cfg.voxel_size_m\n")) == []


def _param_keys() -> set[str]:
    import yaml

    keys: set[str] = set()

    def walk(tree) -> None:
        if isinstance(tree, dict):
            for k, v in tree.items():
                keys.add(str(k))
                walk(v)
        elif isinstance(tree, list):
            for v in tree:
                walk(v)

    walk(yaml.safe_load((PACKAGE_DIR.parents[1] / "params.yaml").read_text()))
    return keys


# Where a `.get(key, default)` on a parameter's name is not a parameter default: model_kinds declares the
# defaults of a variant's optional keys (absent from the stored configs, so their checkpoints keep their
# bytes); the others read files whose fields an older writer may lack.
NOT_PARAMETER_DEFAULTS = {
    "model_kinds.py": "the optional variant keys `vision` and `vision_net`",
    "data/sources/manifest.py": "the source name of a malformed manifest, for its error message",
    "report/spread.py": "a seed-spread JSON written before it recorded validation losses",
    "report/vision2d.py": "a pre-training's dvclive summary",
}


def test_library_code_gives_no_parameter_a_default():
    """Every tunable value has its default in params.yaml only: library and settings code index the
    parameter sections (a missing key is the schema's business), never `.get(key, default)` them."""
    keys, found = _param_keys(), []
    for module, path in _modules().items():
        rel = path.relative_to(PACKAGE_DIR).as_posix()
        if _top(module) not in (*LIBRARY, "settings", "config", "model_kinds") or rel in NOT_PARAMETER_DEFAULTS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in keys
            ):
                found.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert not found, f"parameter defaults in code (put them in params.yaml): {found}"
    assert "condition_output" in keys and "vision_net" in keys  # the rule sees the keys it is about
