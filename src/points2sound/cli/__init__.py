"""Command-line interface: one command per pipeline stage, plus user-facing commands.

Every Snakemake rule and DVC stage calls one of these commands with explicit
paths and the parameter file, so both engines run the same code.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import stages
from ..config import load_params
from ..errors import Points2SoundError
from ..runrecord import RUN, record_path

log = logging.getLogger("points2sound")


def _setup_logging(log_file: Path | None, verbose: bool) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--params",
        type=Path,
        default=Path(os.environ.get("P2S_PARAMS") or "params.yaml"),
        help="parameter file (default: params.yaml; under Snakemake its frozen run copy, $P2S_PARAMS)",
    )
    p.add_argument("--profile", default=None, help="profile overlay to apply (default: the file's `profile`)")
    p.add_argument(
        "--log",
        "--log-file",
        dest="log",
        type=Path,
        default=None,
        help="also write the log to this file, and the run record (timing, machine) beside it as "
        "<log stem>.run.json; under torchrun write --log-file (torchrun takes --log for its own)",
    )
    p.add_argument("-v", "--verbose", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="points2sound", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def cmd(
        name: str, help_: str, func: Callable[[argparse.Namespace, dict], None], needs_params: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand; `needs_params=False` for one that reads no parameter (it runs outside the project too)."""
        p = sub.add_parser(name, help=help_, description=help_)
        _common(p)
        p.set_defaults(func=func, needs_params=needs_params)
        return p

    p = cmd("params", "print the resolved parameters (base + profile) as JSON", _cmd_params)
    p.add_argument("--key", default=None, help="print only this dotted key")

    p = cmd(
        "dvc-yaml",
        "write dvc.yaml: the stage graph of one profile for DVC (the same stages as the Snakefile)",
        _cmd_dvc_yaml,
    )
    p.add_argument("--check", action="store_true", help="only check that dvc.yaml is current (exit 2 if not)")
    p.add_argument("--out", type=Path, default=Path("dvc.yaml"))

    p = cmd("embed-audio", "generate the embedded mono recordings", lambda a, P: stages.embed_audio(P, a.out))
    p.add_argument("--out", type=Path, required=True)
    p = cmd("embed-frames", "generate the embedded point-cloud videos", lambda a, P: stages.embed_frames(P, a.out))
    p.add_argument("--out", type=Path, required=True)
    p = cmd("embed-shapes", "generate the embedded pre-training shapes", lambda a, P: stages.embed_shapes(P, a.out))
    p.add_argument("--out", type=Path, required=True)
    p = cmd("make-hrir", "compute the rigid-sphere HRIR set as SOFA", lambda a, P: stages.make_hrir(P, a.out))
    p.add_argument("--out", type=Path, required=True)
    p = cmd("make-brir", "simulate a room's BRIR set as SOFA", lambda a, P: stages.make_brir(P, a.room, a.hrir, a.out))
    p.add_argument("--room", required=True)
    p.add_argument("--hrir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p = cmd("split", "write the split index files", lambda a, P: stages.split(P, a.dataset))
    p.add_argument("--dataset", type=Path, required=True)
    p = cmd(
        "render-split",
        "render the recordings of some splits binaurally through a SOFA IR set (pipeline stage)",
        lambda a, P: stages.render(P, a.dataset, a.ir, a.out, a.splits.split(",")),
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--ir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--splits", default="train,val,test")
    p = cmd(
        "scenes",
        "materialize the test scenes of one IR set",
        lambda a, P: stages.scenes(P, a.dataset, a.ir_set, a.out, a.split),
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--ir-set", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--split", default="test")

    p = cmd(
        "pretrain",
        "pre-train the vision trunk on shape classification",
        lambda a, P: stages.pretrain(P, a.shapes, a.out, a.live, a.checkpoints, a.threads, a.stop_after, a.dataset),
    )
    p.add_argument("--shapes", type=Path, required=True, help="shapes root (<class>/<shape>.ply, splits/)")
    p.add_argument("--dataset", type=Path, default=None, help="dataset root (performers for the scene pretext)")
    _training_options(p)
    p = cmd(
        "train",
        "train one variant of the paper (see `variants:` in params.yaml)",
        lambda a, P: stages.train(
            P,
            a.variant,
            a.dataset,
            a.pretrained,
            a.out,
            a.live,
            a.checkpoints,
            a.threads,
            a.stop_after,
            pretrained_vision=a.pretrained_vision,
        ),
    )
    p.add_argument("--variant", required=True)
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument(
        "--pretrained",
        type=Path,
        default=None,
        help="the checkpoint (model.pt) of the pre-training the variant's `init` names",
    )
    p.add_argument(
        "--pretrained-vision",
        type=Path,
        default=None,
        help="with `init: separation_audio`: the vision pre-training's model.pt (the vision net's weights)",
    )
    _training_options(p)
    p = cmd(
        "pretrain-separation",
        "pre-train the audio network on visually-conditioned source separation",
        lambda a, P: stages.pretrain_separation(
            P, a.dataset, a.pretrained, a.out, a.live, a.checkpoints, a.threads, a.stop_after
        ),
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--pretrained", type=Path, default=None, help="pre-trained vision checkpoint (model.pt)")
    _training_options(p)
    p = cmd(
        "evaluate-separation",
        "bss_eval SDR/SIR/SAR of the separation network and, per ear, of binaural variants",
        lambda a, P: stages.evaluate_separation(P, a.dataset, a.model, a.models_dir, a.binaural, a.out_dir, a.threads),
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True, help="the separation network's model.pt")
    p.add_argument("--models-dir", type=Path, required=True, help="trained variants: <dir>/<variant>/model.pt")
    p.add_argument(
        "--binaural",
        nargs="*",
        default=None,
        metavar="VARIANT",
        help="binaural variants scored per ear (default: pretrain_audio.per_ear_variants)",
    )
    p.add_argument("--out-dir", type=Path, required=True, help="writes mono.csv and <variant>_per_ear.csv")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")
    from .data import add_data_commands  # `points2sound data status|fetch <source>`

    add_data_commands(sub, _common)
    from .user import add_user_commands  # `points2sound binauralize | render | show-scene`

    add_user_commands(cmd)

    p = cmd(
        "evaluate",
        "score a trained variant (or, without --variant, Mono-Mono) on test scenes",
        lambda a, P: stages.evaluate(P, a.variant, a.model, a.scenes_root, a.ir_sets, a.out_dir, a.threads),
    )
    p.add_argument("--variant", default=None)
    p.add_argument("--model", type=Path, default=None, help="the variant's model.pt")
    p.add_argument("--scenes-root", type=Path, required=True, help="folder of test_<ir_set>/ scene sets")
    p.add_argument("--ir-sets", default="all", help="comma-separated IR set names, or 'all'")
    p.add_argument("--out-dir", type=Path, required=True, help="writes <out-dir>/<ir_set>.csv")
    p.add_argument(
        "--threads", type=int, default=None, help="torch threads (default 1: scores do not depend on the machine)"
    )
    p = cmd(
        "examples",
        "write listening examples (one test scene per N)",
        lambda a, P: stages.examples(P, a.model, a.scenes, a.out, a.pictures),
    )
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--scenes", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--pictures",
        type=Path,
        default=None,
        help="also write a playable HTML page per example (into --out) and its scene's picture here",
    )
    p = cmd(
        "report",
        "tables, figures and the report page from per-scene scores",
        lambda a, P: stages.report(
            P,
            a.scores,
            a.examples,
            a.out,
            separation_scores=a.separation_scores,
            costs=a.costs,
            artifacts=a.artifacts,
            reference=a.reference,
            seed_spread=a.seed_spread,
            curves=a.curves,
        ),
    )
    p.add_argument("--scores", type=Path, nargs="+", required=True, help="score CSVs, or folders of them")
    p.add_argument("--examples", type=Path, default=None)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--separation-scores",
        type=Path,
        nargs="+",
        default=None,
        help="separation scores: mono.csv, <variant>_per_ear.csv, or folders of them (adds the audio "
        "pre-training section; absent files are named there)",
    )
    p.add_argument("--costs", type=Path, default=None, help="the audio-costs CSV (cost table of that section)")
    p.add_argument(
        "--artifacts",
        type=Path,
        nargs="*",
        default=(),
        help="data and model outputs whose hashes the reproduction section records and compares",
    )
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="a committed reference run (results/reference/<profile>) to compare against",
    )
    p.add_argument(
        "--curves",
        type=Path,
        nargs="*",
        default=(),
        help="the training runs' dvclive folders (plots/metrics/*.tsv, metrics.json): the learning-curve figure",
    )
    p.add_argument(
        "--seed-spread",
        type=Path,
        default=None,
        help="the training noise of benchmarks/seed_spread.py (report.seed_spread): marks the checks within it",
    )
    p = cmd(
        "stage-costs",
        "the stages' wall time, CPU time and peak memory from Snakemake's benchmark files",
        _cmd_stage_costs,
        needs_params=False,
    )
    p.add_argument(
        "--benchmarks",
        type=Path,
        nargs="*",
        default=None,
        help="benchmark TSVs (default: logs/<profile>/benchmarks/*.tsv of --profile, or of every profile)",
    )
    p.add_argument("--out", type=Path, required=True, help="Markdown table to write")
    p.add_argument("--html", type=Path, default=None, help="also as a standalone HTML page")
    p = cmd(
        "audio-costs",
        "parameters and GMACs per second of audio of the audio networks, this profile's and the paper's",
        _cmd_audio_costs,
    )
    p.add_argument("--out", type=Path, required=True, help="CSV to write (one row per profile and network)")
    return parser


def _training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="output folder (model.pt)")
    p.add_argument(
        "--live",
        type=Path,
        required=True,
        help="dvclive folder: plots/metrics/<metric>.tsv (history), metrics.json (summary)",
    )
    p.add_argument("--checkpoints", type=Path, required=True, help="resume state; a rerun continues from it")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: resources.<kind>.cpus, at most the cores)",
    )
    p.add_argument("--stop-after", type=int, default=None, help="stop after this many iterations (resumable)")


def _cmd_stage_costs(args: argparse.Namespace, params: dict) -> None:
    from ..report.costs import write_stage_costs

    files = args.benchmarks
    if files is None:
        files = sorted(Path("logs").glob(f"{args.profile or '*'}/benchmarks/*.tsv"))
    print(write_stage_costs(files, args.out, args.html), end="")


def _cmd_params(args: argparse.Namespace, params: dict) -> None:
    value = params
    if args.key:
        for part in args.key.split("."):
            value = value[part]
    print(json.dumps(value, indent=2) if isinstance(value, (dict, list)) else value)


def _cmd_dvc_yaml(args: argparse.Namespace, params: dict) -> None:
    """Render dvc.yaml for `--profile` (which also becomes params.yaml's `profile:`), or check it."""
    from ..atomic import write_text
    from ..config import read_params_file
    from ..dvc_yaml import check_current, render, set_profile_line

    root = args.out.resolve().parent
    if args.check:
        check_current(args.params, root)
        print(f"{args.out} is current for profile {params['profile']!r}")
        return
    if args.profile and read_params_file(args.params).get("profile") != args.profile:
        set_profile_line(args.params, args.profile)
    write_text(args.out, render(read_params_file(args.params), params, root))
    print(f"wrote {args.out} for profile {params['profile']!r}")


def _cmd_audio_costs(args: argparse.Namespace, params: dict) -> None:
    """The active profile's audio networks beside the paper's sizes (V-SlowFast reports costs so)."""
    from ..atomic import atomic_path
    from ..models.cost import audio_network_costs

    profiles = {params["profile"]: params}
    if "paper" not in profiles:
        profiles["paper"] = load_params(args.params, "paper")
    df = audio_network_costs(
        {name: p["model"] for name, p in profiles.items()},
        {name: p["audio"]["sample_rate"] for name, p in profiles.items()},
    )
    with atomic_path(args.out) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n", float_format="%.9g")
    print(df.to_string(index=False))


def _refuse_stale_dvc_yaml(params_path: Path) -> None:
    """Under `dvc repro` a stage runs only from a dvc.yaml that params.yaml still describes."""
    from ..dvc_yaml import check_current, under_dvc

    if under_dvc():
        check_current(params_path, Path(os.environ.get("DVC_ROOT") or "."))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    _setup_logging(args.log, args.verbose)
    start = time.perf_counter()
    record = args.log is not None and _is_rank0()  # one record per command, also under torchrun
    if record:
        record_path(args.log).unlink(missing_ok=True)  # a failed rerun must not leave the last success's record
    RUN.start(args.command, argv)
    try:
        params = load_params(args.params, args.profile) if getattr(args, "needs_params", True) else {}
        if args.command not in ("params", "dvc-yaml"):
            _refuse_stale_dvc_yaml(args.params)
        RUN.update(profile=params.get("profile"))
        args.func(args, params)
    except Points2SoundError as exc:
        log.debug("traceback of the error below", exc_info=True)  # --verbose shows it, as does its log file
        log.error("%s", exc)
        return 2
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        log.debug("traceback of the error below", exc_info=True)
        log.error(
            "%s: %s", exc.filename or "output", exc.strerror.lower() if exc.strerror else "no space left on device"
        )
        return 2
    except stages.RunStopped as exc:
        log.info("%s", exc)
        return 3
    except KeyboardInterrupt:
        log.error("interrupted: no partial output was kept")
        return 130
    if args.command != "params":
        log.info("%s finished in %.1f s", args.command, time.perf_counter() - start)
    if record:
        log.debug("run record: %s", RUN.write(record_path(args.log)))
    return 0


def _is_rank0() -> bool:
    return os.environ.get("RANK", "0") == "0"


if __name__ == "__main__":
    sys.exit(main())
