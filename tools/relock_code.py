"""Rewrite dvc.lock's code dependencies after a change of code that leaves every output as it was.

DVC reruns a stage whose code dependencies differ from its lock entry. When a change moves or
renames code without changing what any stage writes (proven by the tiny run byte for byte, and
the graph's data deps and outs unchanged), the lock can keep its data, model and score hashes and
take the new code paths' hashes, computed here by DVC itself. It refuses when a stage's command
changed in anything but its name, a data dependency is not in the old lock, or an output or
parameter key differs: those need a run.

    python tools/relock_code.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

CODE = "src/"


def _entry(dep) -> dict:
    dep.save()
    out = {"path": dep.def_path, "hash": "md5", "md5": dep.hash_info.value, "size": dep.meta.size}
    if dep.meta.nfiles is not None:
        out["nfiles"] = dep.meta.nfiles
    return out


def relock(root: Path, renamed: dict[str, str], lenient: bool = False, added: tuple[str, ...] = ()) -> dict:
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    lock = yaml.safe_load((root / "dvc.lock").read_text())
    problems = []
    with Repo(str(root)) as repo:
        for stage in repo.index.stages:
            entry = lock["stages"].get(stage.name)
            if entry is None:
                if not lenient:
                    problems.append(f"{stage.name}: not in dvc.lock (a new stage needs a run)")
                continue
            found = len(problems)
            old_cmd = entry["cmd"]
            for old, new in renamed.items():
                old_cmd = old_cmd.replace(old, new)
            if " ".join(old_cmd.split()) != " ".join(stage.cmd.split()):
                problems.append(f"{stage.name}: command changed: {entry['cmd']!r} -> {stage.cmd!r}")
            old_deps = {d["path"]: d for d in entry.get("deps", [])}
            deps = []
            for dep in stage.deps:
                if isinstance(dep, ParamsDependency):
                    continue
                if dep.def_path.startswith(CODE):
                    deps.append(_entry(dep))
                elif dep.def_path in old_deps:
                    deps.append(old_deps[dep.def_path])
                else:
                    problems.append(f"{stage.name}: data dependency {dep.def_path} not in dvc.lock")
            params = {p.def_path: sorted(p.params) for p in stage.deps if isinstance(p, ParamsDependency)}
            old_params = {f: sorted(v) for f, v in (entry.get("params") or {}).items()}
            if params != old_params:
                # a key the stage read before without declaring it (`--added-param`): its value is taken as it is
                for dep in (p for p in stage.deps if isinstance(p, ParamsDependency)):
                    new = set(dep.params) - set(old_params.get(dep.def_path, []))
                    if new and new <= set(added) and set(old_params.get(dep.def_path, [])) <= set(dep.params):
                        dep.save()
                        entry.setdefault("params", {})[dep.def_path] = {
                            k: dep.hash_info.value[k] for k in dep.params if k in dep.hash_info.value
                        }
                    elif new or set(old_params.get(dep.def_path, [])) - set(dep.params):
                        problems.append(f"{stage.name}: parameter keys changed")
            outs = sorted(o.def_path for o in stage.outs)
            if outs != sorted(o["path"] for o in entry.get("outs", [])):
                problems.append(f"{stage.name}: outputs changed")
            if lenient and len(problems) > found:
                del problems[found:]  # leave that stage's entry as it was
                continue
            entry["cmd"] = stage.cmd
            entry["deps"] = deps
        names = [s.name for s in repo.index.stages]
    if problems:
        raise SystemExit("relock refused:\n  " + "\n  ".join(problems))
    lock["stages"] = {
        n: lock["stages"][n] for n in names if n in lock["stages"]
    }  # dvc.yaml's order; stages gone from it leave
    return lock


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--renamed", nargs="*", default=[], metavar="OLD=NEW", help="command names that changed")
    p.add_argument(
        "--added-param",
        nargs="*",
        default=[],
        metavar="KEY",
        help="parameter keys a stage now declares that it read before, with the same value (recorded as they are)",
    )
    p.add_argument("--check", action="store_true", help="only say whether the lock's code hashes are current")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="leave a stage that would need a run as it is, instead of refusing (for scratch copies in tests)",
    )
    args = p.parse_args()
    renamed = dict(r.split("=", 1) for r in args.renamed)
    lock = relock(args.root, renamed, args.lenient, tuple(args.added_param))
    text = yaml.safe_dump(lock, sort_keys=False, width=80)
    path = args.root / "dvc.lock"
    if args.check:
        current = yaml.safe_load(path.read_text()) == yaml.safe_load(text)
        print("dvc.lock code hashes are current" if current else "dvc.lock code hashes are stale")
        return 0 if current else 1
    path.write_text(text)
    print(f"rewrote {path}: {len(lock['stages'])} stages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
