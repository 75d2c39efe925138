"""The source files a stage runs: the package modules its entry modules import, transitively.

Both engines rerun a stage when one of these files changes, so the list must be
complete without being written by hand: it is read off the imports (module-level
and function-level) with `ast`, restricted to this package.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = "points2sound"
PACKAGE_DIR = Path(__file__).resolve().parent
# Modules every command passes through (cli.main writes the run record with the machine's facts;
# cli's parser imports every command group of cli/). They are listed as files only: their own
# imports reach every stage's code (the CLI builds all subcommands, stages.py imports lazily), so
# each stage names the modules its stages.py function imports as its entry modules.
CLI_MODULES = tuple(f"cli.{p.stem}" for p in sorted((PACKAGE_DIR / "cli").glob("*.py")) if p.stem != "__init__")
GLUE = ("cli", *CLI_MODULES, "stages", "config", "errors", "atomic", "runrecord", "machine", "__main__")
GLUE_FILES = ("schemas/params.schema.yaml",)
# A stage that runs this share of a folder's modules depends on the whole folder: a few more
# reruns than needed, in exchange for a dvc.yaml that a person can read.
WHOLE_FOLDER = 2 / 3


def _module_file(module: str) -> Path | None:
    parts = module.split(".")[1:]
    if not parts:
        return PACKAGE_DIR / "__init__.py"
    rel = Path(*parts)
    for candidate in (PACKAGE_DIR / rel.with_suffix(".py"), PACKAGE_DIR / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def _imports(module: str) -> frozenset[str]:
    """Package modules named by the import statements of one module, anywhere in its body."""
    path = _module_file(module)
    if path is None:
        return frozenset()
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, path.name == "__init__.py")
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)  # `from pkg import module`
    return frozenset(m for m in found if m.split(".")[0] == PACKAGE and _module_file(m) is not None)


def _with_parents(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def module_closure(entries: tuple[str, ...]) -> set[str]:
    """Every package module that importing `entries` (dotted, relative to the package) can run."""
    todo = [f"{PACKAGE}.{e}" for e in entries]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        for m in _with_parents(module):
            if m in seen:
                continue
            seen.add(m)
            if m.split(".")[-1] not in GLUE or m.count(".") != 1:
                todo.extend(_imports(m))
    return seen


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _collapse(files: set[Path]) -> list[Path]:
    """Name a folder instead of its files when the stage runs most of its Python modules."""
    folders = sorted({d for f in files for d in f.parents if PACKAGE_DIR in d.parents}, key=lambda d: len(d.parts))
    whole: list[Path] = []
    for folder in folders:  # shallowest first, so a whole package hides its whole subpackages
        if any(w in folder.parents for w in whole):
            continue
        modules = {p for p in _files_under(folder) if p.suffix == ".py"}
        if modules and len(modules & files) >= WHOLE_FOLDER * len(modules):
            whole.append(folder)
    rest = {f for f in files if not any(w in f.parents for w in whole)}
    return sorted(set(whole) | rest)


def code_paths(entries: tuple[str, ...]) -> list[str]:
    """Source paths a stage with these entry modules runs, as `src/points2sound/...` (the project's
    layout, the same in every checkout and copy of it); absolute when the package is installed elsewhere."""
    modules = module_closure(entries) | {f"{PACKAGE}.{g}" for g in GLUE}
    files = {f for m in modules if (f := _module_file(m)) is not None}
    files |= {PACKAGE_DIR / g for g in GLUE_FILES}
    paths = _collapse(files)
    project = PACKAGE_DIR.parents[1] if PACKAGE_DIR.parent.name == "src" else None
    return [p.relative_to(project).as_posix() if project else str(p) for p in paths]


def expand(paths: list[str], root: Path) -> list[str]:
    """Folders back to their files (Snakemake compares file times, not folder times)."""
    out: list[str] = []
    for p in paths:
        full = root / p
        if full.is_dir():
            out += sorted(str(f.relative_to(root)) for f in _files_under(full))
        else:
            out.append(p)
    return out
