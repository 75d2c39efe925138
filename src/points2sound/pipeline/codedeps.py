"""The source files a stage runs: its stage kind's module and what that imports, transitively, plus
the fixed core every stage command passes through.

Both engines rerun a stage when one of these files changes, so the list must be complete
without being written by hand: it is read off the imports (module-level and function-level,
not those under `if TYPE_CHECKING:`, which never run) with `ast`, restricted to this package.
A test runs stage commands and checks that every package module they load is on their list.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = "points2sound"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# every stage command: the console script's dispatch (`cli/__init__.py` hands a stage command to the
# runner and imports nothing else for it) and the runner with what it imports
CORE_FILES = ("__main__.py", "cli/__init__.py", "schemas/params.schema.yaml")
CORE_MODULES = ("pipeline.runner",)


def module_file(module: str) -> Path | None:
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


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _walk(tree: ast.AST):
    """Every statement, at any depth (imports are statements), except those under `if TYPE_CHECKING:`."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for name in ("body", "orelse", "handlers", "finalbody", "cases"):
            for child in getattr(node, name, ()):
                if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)) and not _is_type_checking(child):
                    todo.append(child)


@cache
def imports(module: str) -> frozenset[str]:
    """Package modules named by the import statements of one module, anywhere in its body."""
    path = module_file(module)
    if path is None:
        return frozenset()
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, path.name == "__init__.py")
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)  # `from pkg import module`
    return frozenset(m for m in found if m.split(".")[0] == PACKAGE and module_file(m) is not None)


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
            if m not in seen:
                seen.add(m)
                todo.extend(imports(m))
    return seen


def _python_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*.py") if "__pycache__" not in p.parts}


def _collapse(files: set[Path]) -> set[Path]:
    """Name a folder instead of its files where a stage runs every Python module in it (the same
    reruns, a shorter dvc.yaml; a new module there reruns the stage until the folder is split)."""
    folders = sorted({d for f in files for d in f.parents if PACKAGE_DIR in d.parents}, key=lambda d: len(d.parts))
    whole: list[Path] = []
    for folder in folders:  # shallowest first, so a whole package hides its whole subpackages
        if not any(w in folder.parents for w in whole) and _python_files(folder) <= files:
            whole.append(folder)
    return set(whole) | {f for f in files if not any(w in f.parents for w in whole)}


@cache
def code_paths(module: str) -> tuple[str, ...]:
    """Source paths a stage kind's module (dotted, relative to the package) runs, as
    `src/points2sound/...` (the project's layout, the same in every checkout); absolute when the
    package is installed elsewhere."""
    modules = module_closure((module, *CORE_MODULES))
    files = {f for m in modules if (f := module_file(m)) is not None}
    files = _collapse(files) | {PACKAGE_DIR / f for f in CORE_FILES}
    project = PACKAGE_DIR.parents[1] if PACKAGE_DIR.parent.name == "src" else None
    return tuple(p.relative_to(project).as_posix() if project else str(p) for p in sorted(files))


def expand(paths: list[str], root: Path) -> list[str]:
    """Folders back to their files (Snakemake compares file times, not folder times)."""
    out: list[str] = []
    for p in paths:
        full = root / p
        if full.is_dir():
            out += sorted(
                str(f.relative_to(root))
                for f in full.rglob("*")
                if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
            )
        else:
            out.append(p)
    return out
