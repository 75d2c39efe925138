"""The stage graph, declared once: both engines are driven from `stage_graph(params)`.

Each `Stage` names its command (a `points2sound` subcommand with explicit paths), the
files it reads (`deps`) and writes (`outs`), the parameter keys it reads, the package
modules it runs and the kind of resources it needs. The Snakemake rules
(`workflow/rules/*.smk`) loop over the stages of their topic; `dvc.yaml` is rendered
from the same list by `points2sound dvc-yaml` (see `dvc_yaml.py`). Adding a stage is
one entry here plus its command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .codedeps import code_paths
from .errors import ParameterError
from .settings.train import VISION_NETS, vision_net

NAME = re.compile(r"^[A-Za-z0-9_]+$")
SOURCE_MODULES = {"modelnet40": "modelnet"}  # source name -> module under data/sources/ where they differ
TOPICS = ("download", "data", "render", "scenes", "train", "evaluate", "report")
# the pre-training stage whose model.pt a variant's `init` passes as --pretrained
# (separation_audio also takes pretrain_vision's, as --pretrained-vision; `init: vision` takes the
# pre-training of the variant's vision net kind, settings.train.VISION_NETS)
INIT_PRETRAINING = {
    "vision": "pretrain_vision",
    "separation": "pretrain_separation",
    "separation_audio": "pretrain_separation",
}


def init_pretraining(spec: Mapping[str, Any]) -> str:
    """The pre-training stage a variant (`variants.<name>`) starts from."""
    return VISION_NETS[vision_net(spec)] if spec["init"] == "vision" else INIT_PRETRAINING[spec["init"]]


REPORT_CATEGORIES = ("data", "training", "scores", "listening", "benchmarks")  # of `snakemake --report`


@dataclass(frozen=True)
class Report:
    """How `snakemake --report` shows an output (Snakemake only; DVC ignores it).

    `caption` names an RST file under workflow/report/; a folder output shows the files matching
    `patterns` (Snakemake's glob_wildcards patterns, relative to the folder), whose wildcards the
    caption, `subcategory` and `labels` may use.
    """

    category: str
    caption: str
    subcategory: str | None = None
    patterns: tuple[str, ...] = ()
    labels: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.category not in REPORT_CATEGORIES:
            raise ValueError(f"report category {self.category!r} is not one of {REPORT_CATEGORIES}")


@dataclass(frozen=True)
class Out:
    """One output path. `cache: False` leaves it to git (small results), `metric`/`plot` are for DVC."""

    path: str
    directory: bool = False
    cache: bool = True
    metric: bool = False
    plot: Mapping[str, str] | None = None
    report: Report | None = None  # shown by `snakemake --report` (workflow/report/)


@dataclass(frozen=True)
class Stage:
    name: str  # Snakemake rule name == DVC stage name
    topic: str  # which workflow/rules/<topic>.smk holds its rule
    args: tuple[str, ...]  # after `points2sound`: subcommand and its arguments
    deps: Mapping[str, str | tuple[str, ...]]  # named data inputs (files or folders)
    outs: Mapping[str, Out]  # named outputs
    params: tuple[str, ...]  # parameter keys it reads (dotted), beyond profile and seed
    modules: tuple[str, ...]  # entry modules (dotted): what its stages.py function imports
    log: str
    kind: str | None = None  # `resources:` kind (train, pretrain) for cluster requests and threads
    code: tuple[str, ...] = field(default=(), compare=False)  # filled by stage_graph: source paths it runs

    @property
    def command(self) -> str:
        """The command line after the launcher (`points2sound`, or torchrun on a cluster)."""
        return " ".join(self.args)

    @property
    def run_record(self) -> str:
        """Timing and machine facts of the command (cli.main writes it beside the log; not an artifact)."""
        return str(Path(self.log).with_suffix(".run.json"))

    @property
    def benchmark(self) -> str:
        """Snakemake's `benchmark:` file of the rule (wall, CPU time, peak memory; not an artifact)."""
        return str(Path(self.log).parent / "benchmarks" / f"{self.name}.tsv")

    def dep_paths(self) -> list[str]:
        out: list[str] = []
        for value in self.deps.values():
            out += [value] if isinstance(value, str) else list(value)
        return out

    def param_keys(self) -> tuple[str, ...]:
        return ("profile", "seed", *self.params)


def _check_name(name: str, what: str) -> str:
    if not NAME.match(name):
        raise ParameterError(what, f"{name!r} cannot name a stage: use letters, digits and _ only")
    return name


class _Builder:
    """Collects the stages of one resolved profile; paths follow the data contract (README)."""

    def __init__(self, params: Mapping[str, Any]):
        self.P = params
        self.profile = params["profile"]
        self.D = f"data/{self.profile}"
        self.models = f"models/{self.profile}"
        self.results = f"results/{self.profile}"
        self.logs = f"logs/{self.profile}"
        self.checkpoints = f"checkpoints/{self.profile}"
        self.stages: list[Stage] = []

    def add(
        self,
        name: str,
        topic: str,
        args: list[str],
        deps: dict,
        outs: dict,
        params: tuple[str, ...],
        modules: tuple[str, ...],
        kind: str | None = None,
    ) -> None:
        log = f"{self.logs}/{name}.log"
        words = 3 if args[0] == "data" else 1  # `data fetch <source>` is one command
        full = [*args[:words], "--profile", self.profile, *args[words:], "--log-file", log]  # torchrun takes --log
        self.stages.append(Stage(name, topic, tuple(full), deps, outs, params, modules, log, kind))

    # ---- data sources ----
    def embedded(self) -> None:
        D = self.D
        self.add(
            "embed_audio",
            "data",
            ["embed-audio", "--out", f"{D}/audio"],
            {},
            {"audio": Out(f"{D}/audio", True)},
            ("instruments", "dataset", "audio", "embedded_audio"),
            ("data.synth.audio",),
        )
        self.add(
            "embed_frames",
            "data",
            ["embed-frames", "--out", f"{D}/frames"],
            {},
            {"frames": Out(f"{D}/frames", True)},
            ("instruments", "dataset", "embedded_frames"),
            ("data.synth.performers",),
        )
        if self.P["shapes"]["name"] != "modelnet40":
            self.add(
                "embed_shapes",
                "data",
                ["embed-shapes", "--out", f"{D}/shapes"],
                {},
                {"shapes": Out(f"{D}/shapes", True)},
                ("shapes",),
                ("data.synth.shapes",),
            )

    def downloads(self) -> None:
        """Real sources: each fetch converts one source into the data contract and writes its manifest."""
        D, P = self.D, self.P
        cache = P["sources"]["cache_dir"]
        manifests = f"{D}/manifests"

        def fetch(name: str, source: str, outs: dict, params: tuple[str, ...], extra: list[str] = ()) -> None:
            outs = {**outs, "manifest": Out(f"{manifests}/{name.removeprefix('fetch_')}.json", cache=False)}
            self.add(
                name,
                "download",
                [
                    "data",
                    "fetch",
                    source,
                    *extra,
                    "--dataset",
                    D,
                    "--cache",
                    cache,
                    "--manifest",
                    outs["manifest"].path,
                ],
                {},
                outs,
                (f"sources.{source}", "sources.retries", "sources.backoff_s", "sources.timeout_s", *params),
                ("cli.data", f"data.sources.{SOURCE_MODULES.get(source, source)}"),
            )

        fetch("fetch_music_solos", "music_solos", {"audio": Out(f"{D}/audio", True)}, ("instruments", "audio"))
        fetch(
            "fetch_points2sound_clouds",
            "points2sound_clouds",
            {"frames": Out(f"{D}/frames", True)},
            ("instruments", "sources.zenodo_api"),
        )
        if P["shapes"]["name"] == "modelnet40":
            fetch("fetch_modelnet40", "modelnet40", {"shapes": Out(f"{D}/shapes", True)}, ("shapes",))
        if P["hrir"]["source"] == "sofa":
            fetch("fetch_kemar", "kemar", {"sofa": Out(f"{D}/ir/{P['hrir']['name']}.sofa")}, ("hrir", "audio"))
        for room in self.measured_rooms():
            fetch(f"fetch_rooms_{room}", "rooms", {"sofa": Out(f"{D}/ir/{room}.sofa")}, ("rooms",), ["--room", room])

    def measured_rooms(self) -> list[str]:
        return [r for r, c in self.P["rooms"]["sets"].items() if (c or {}).get("source") == "measured"]

    # ---- splits, IR sets, renders, test scenes ----
    def data_half(self) -> None:
        D, P = self.D, self.P
        hrir = P["hrir"]["name"]
        rooms = [_check_name(r, "rooms.sets") for r in P["rooms"]["sets"]]
        self.add(
            "split",
            "data",
            ["split", "--dataset", D],
            {"audio": f"{D}/audio", "frames": f"{D}/frames"},
            {"splits": Out(f"{D}/splits", True, report=Report("data", "splits.rst", patterns=("{split}.csv",)))},
            ("instruments", "audio", "splits"),
            ("data.splits",),
        )
        self.ir_set_stages(hrir, rooms)
        for stage, irset, splits in [("hrir", hrir, ["train", "val", "test"])] + [
            (f"room_{r}", r, list(P["render"]["room_splits"])) for r in rooms
        ]:
            self.render_and_scenes(stage, irset, splits)

    def ir_set_stages(self, hrir: str, rooms: list[str]) -> None:
        """The rigid-sphere HRIR set and every simulated room's BRIRs (measured ones are fetched)."""
        D = self.D
        if self.P["hrir"]["source"] == "sphere":
            self.add(
                "make_hrir",
                "render",
                ["make-hrir", "--out", f"{D}/ir/{hrir}.sofa"],
                {},
                {"sofa": Out(f"{D}/ir/{hrir}.sofa")},
                ("audio", "hrir"),
                ("render.sphere_head", "render.sofa_io"),
            )
        measured = set(self.measured_rooms())
        for room in rooms:
            if room not in measured:
                self.add(
                    f"make_brir_{room}",
                    "render",
                    ["make-brir", "--room", room, "--hrir", f"{D}/ir/{hrir}.sofa", "--out", f"{D}/ir/{room}.sofa"],
                    {"hrir": f"{D}/ir/{hrir}.sofa"},
                    {"sofa": Out(f"{D}/ir/{room}.sofa")},
                    ("rooms",),
                    ("render.room", "render.sofa_io"),
                )

    def render_and_scenes(self, stage: str, irset: str, splits: list[str]) -> None:
        """One IR set's binaural renders of some splits, and its materialized test scenes."""
        D = self.D
        ir = f"{D}/ir/{irset}.sofa"
        self.add(
            f"render_{stage}",
            "render",
            [
                "render-split",
                "--dataset",
                D,
                "--ir",
                ir,
                "--out",
                f"{D}/binaural/{irset}",
                "--splits",
                ",".join(splits),
            ],
            {"audio": f"{D}/audio", "splits": f"{D}/splits", "ir": ir},
            {"renders": Out(f"{D}/binaural/{irset}", True)},
            ("audio", "render"),
            ("render.binaural", "render.sofa_io"),
        )
        self.add(
            f"test_scenes_{stage}",
            "scenes",
            ["scenes", "--dataset", D, "--ir-set", irset, "--out", f"{D}/scenes/test_{irset}"],
            {
                "audio": f"{D}/audio",
                "renders": f"{D}/binaural/{irset}",
                "splits": f"{D}/splits",
                "frames": f"{D}/frames",
                "ir": ir,
            },
            {"scenes": Out(f"{D}/scenes/test_{irset}", True)},
            ("audio", "dataset", "scenes", "render"),
            ("data.scenes", "render.sofa_io"),
        )

    # ---- models ----
    def _training(
        self, name: str, command: list[str], deps: dict, params: tuple[str, ...], modules: tuple[str, ...], kind: str
    ) -> None:
        # the run's dvclive folder (train/live.py): its summary is a metric, its per-metric TSVs the plots
        live = f"{self.results}/train/{name}"
        args = [
            *command,
            "--out",
            f"{self.models}/{name}",
            "--live",
            live,
            "--checkpoints",
            f"{self.checkpoints}/{name}",
        ]
        outs = {
            "model": Out(f"{self.models}/{name}", True),
            "metrics": Out(
                f"{live}/metrics.json",
                cache=False,
                metric=True,
                report=Report("training", "training_summary.rst", subcategory=name),
            ),
            "plots": Out(f"{live}/plots/metrics", True, cache=False, plot={"x": "step"}),
        }
        self.add(
            name if name.startswith("pretrain") else f"train_{name}", "train", args, deps, outs, params, modules, kind
        )

    def models_half(self) -> None:
        D, P, M = self.D, self.P, self.models
        hrir = P["hrir"]["name"]
        self._training(
            "pretrain_vision",
            ["pretrain", "--shapes", f"{D}/shapes", "--dataset", D],
            {"shapes": f"{D}/shapes", "splits": f"{D}/splits", "frames": f"{D}/frames"},
            ("model", "pretrain", "shapes", "scenes", "train.device"),
            ("train.pretrain", "train.runtime"),
            "pretrain",
        )
        self._training(
            "pretrain_separation",
            ["pretrain-separation", "--dataset", D, "--pretrained", f"{M}/pretrain_vision/model.pt"],
            {
                "audio": f"{D}/audio",
                "splits": f"{D}/splits",
                "frames": f"{D}/frames",
                "pretrained": f"{M}/pretrain_vision",
            },
            ("model", "pretrain_audio", "scenes", "render", "audio", "train.pretrained_vision", "train.device"),
            ("train.separation", "train.runtime"),
            "pretrain",
        )
        if self.panorama_variants():
            self._training(
                "pretrain_vision_2d",
                ["pretrain-panorama", "--dataset", D],
                {"splits": f"{D}/splits", "frames": f"{D}/frames"},
                ("model", "pretrain", "scenes", "train.device"),
                ("train.pretrain_panorama", "train.runtime"),
                "pretrain",
            )
        for variant, spec in P["variants"].items():
            _check_name(variant, "variants")
            init = f"{M}/{init_pretraining(spec)}"
            command = ["train", "--variant", variant, "--dataset", D, "--pretrained", f"{init}/model.pt"]
            deps = {
                "audio": f"{D}/audio",
                "renders": f"{D}/binaural/{hrir}",
                "splits": f"{D}/splits",
                "frames": f"{D}/frames",
                "pretrained": init,
            }
            if spec["init"] == "separation_audio":  # the audio from the separation, the vision net from its own
                command += ["--pretrained-vision", f"{M}/pretrain_vision/model.pt"]
                deps["pretrained_vision"] = f"{M}/pretrain_vision"
            self._training(
                variant,
                command,
                deps,
                ("model", "train", "scenes", "render", "audio", "hrir", f"variants.{variant}"),
                ("train.variant", "train.runtime"),
                "train",
            )

    # ---- evaluation and report ----
    def ir_sets(self) -> list[str]:
        return [self.P["hrir"]["name"], *self.P["rooms"]["sets"]]

    def score_path(self, entry: str, irset: str) -> str:
        return f"{self.results}/scores/{entry}/{irset}.csv"

    @staticmethod
    def scores_report(entry: str, irset: str) -> Report:
        return Report(
            "scores", "scene_scores.rst", subcategory="per-scene scores", labels={"entry": entry, "IR set": irset}
        )

    @staticmethod
    def separation_report(what: str) -> Report:
        return Report("scores", "separation_scores.rst", subcategory="separation scores", labels={"scores": what})

    def evaluation(self) -> None:
        for irset in self.ir_sets():
            self.score_stages(irset)
        self.foa_scores()
        self.separation_scores()
        self.add(
            "audio_costs",
            "evaluate",
            ["audio-costs", "--out", f"{self.results}/audio_costs.csv"],
            {},
            {
                "costs": Out(
                    f"{self.results}/audio_costs.csv", cache=False, report=Report("benchmarks", "audio_costs.rst")
                )
            },
            ("model", "audio"),
            ("models.cost",),
        )
        self.listening_examples()

    def binaural_variants(self) -> list[str]:
        """The variants that output binaural signals (an FOA variant is scored by `foa_scores`)."""
        return [v for v, spec in self.P["variants"].items() if spec["model"] != "points2sound_foa"]

    def foa_variants(self) -> list[str]:
        return [v for v, spec in self.P["variants"].items() if spec["model"] == "points2sound_foa"]

    def panorama_variants(self) -> list[str]:
        """The variants whose vision net is the 2D one (they need `pretrain_vision_2d`)."""
        return [v for v, spec in self.P["variants"].items() if vision_net(spec) == "panorama2d"]

    def foa_scores(self) -> None:
        """Each FOA variant against the spatial prior and the omni field, as fields and decoded (issue 18)."""
        D, M, R = self.D, self.models, self.results
        hrir = self.P["hrir"]["name"]
        for variant in self.foa_variants():
            out = f"{R}/scores/foa/{variant}"
            report = Report("scores", "foa_scores.rst", subcategory="FOA scores", labels={"entry": variant})
            self.add(
                f"evaluate_foa_{variant}",
                "evaluate",
                [
                    "evaluate-foa",
                    "--variant",
                    variant,
                    "--model",
                    f"{M}/{variant}/model.pt",
                    "--dataset",
                    D,
                    "--scenes",
                    f"{D}/scenes/test_{hrir}",
                    "--ir",
                    f"{D}/ir/{hrir}.sofa",
                    "--out-dir",
                    out,
                ],
                {
                    "model": f"{M}/{variant}",
                    "scenes": f"{D}/scenes/test_{hrir}",
                    "audio": f"{D}/audio",
                    "splits": f"{D}/splits",
                    "renders": f"{D}/binaural/{hrir}",
                    "ir": f"{D}/ir/{hrir}.sofa",
                },
                {
                    "scores": Out(f"{out}/scores.csv", cache=False, report=report),
                    "maps": Out(f"{out}/energy_maps.csv", cache=False, report=report),
                },
                ("audio", "model", "scenes", "render", "foa", "train.device", f"variants.{variant}"),
                ("evaluate.foa", "train.runtime", "train.variant"),
            )

    def score_stages(self, irset: str) -> None:
        """Per-scene scores of every binaural variant, and of Mono-Mono, on one IR set's test scenes."""
        D, M, R = self.D, self.models, self.results
        scenes = f"{D}/scenes/test_{irset}"
        for variant in self.binaural_variants():
            self.add(
                f"evaluate_{variant}_{irset}",
                "evaluate",
                [
                    "evaluate",
                    "--variant",
                    variant,
                    "--model",
                    f"{M}/{variant}/model.pt",
                    "--scenes-root",
                    f"{D}/scenes",
                    "--ir-sets",
                    irset,
                    "--out-dir",
                    f"{R}/scores/{variant}",
                ],
                {"model": f"{M}/{variant}", "scenes": scenes},
                {
                    "scores": Out(
                        self.score_path(variant, irset), cache=False, report=self.scores_report(variant, irset)
                    )
                },
                ("audio", "model", "scenes.features", "scenes.mono_input", "train.device", f"variants.{variant}"),
                ("evaluate.run", "train.runtime", "train.variant"),
            )
        self.add(
            f"evaluate_mono_mono_{irset}",
            "evaluate",
            ["evaluate", "--scenes-root", f"{D}/scenes", "--ir-sets", irset, "--out-dir", f"{R}/scores/mono_mono"],
            {"scenes": scenes},
            {
                "scores": Out(
                    self.score_path("mono_mono", irset), cache=False, report=self.scores_report("mono_mono", irset)
                )
            },
            ("audio",),
            ("evaluate.run", "train.runtime", "train.variant"),
        )

    def separation_scores(self) -> None:
        """bss_eval scores of the separation network, and per ear of the variants pretrain_audio names."""
        D, M, R = self.D, self.models, self.results
        per_ear = list(self.P["pretrain_audio"]["per_ear_variants"])
        args = ["evaluate-separation", "--dataset", D, "--model", f"{M}/pretrain_separation/model.pt"]
        args += ["--models-dir", M, "--binaural", *per_ear, "--out-dir", f"{R}/separation"]
        self.add(
            "evaluate_separation",
            "evaluate",
            args,
            {
                "model": f"{M}/pretrain_separation",
                "audio": f"{D}/audio",
                "renders": f"{D}/binaural/{self.P['hrir']['name']}",
                "splits": f"{D}/splits",
                "frames": f"{D}/frames",
                "binaural": tuple(f"{M}/{v}" for v in per_ear),
            },
            {
                "mono": Out(f"{R}/separation/mono.csv", cache=False, report=self.separation_report("mono")),
                **{
                    f"per_ear_{v}": Out(
                        f"{R}/separation/{v}_per_ear.csv", cache=False, report=self.separation_report(f"{v} per ear")
                    )
                    for v in per_ear
                },
            },
            (
                "audio",
                "model",
                "pretrain_audio",
                "scenes",
                "render",
                "train.device",
                *(f"variants.{v}" for v in per_ear),
            ),
            ("evaluate.separation", "train.runtime", "train.variant"),
        )

    def listening_examples(self) -> None:
        """The headline model's listening examples on the anechoic test scenes, and their scene pictures."""
        D, P, M, R = self.D, self.P, self.models, self.results
        hrir = P["hrir"]["name"]
        headline = "p2s_rgb" if "p2s_rgb" in P["variants"] else next(iter(P["variants"]))
        self.add(
            "listening_examples",
            "evaluate",
            [
                "examples",
                "--model",
                f"{M}/{headline}/model.pt",
                "--scenes",
                f"{D}/scenes/test_{hrir}",
                "--out",
                f"{R}/examples",
                "--pictures",
                f"{R}/scene_pictures",
            ],
            {"model": f"{M}/{headline}", "scenes": f"{D}/scenes/test_{hrir}"},
            {
                "examples": Out(
                    f"{R}/examples",
                    True,
                    report=Report("listening", "listening_example.rst", patterns=("{example}.html",)),
                ),
                "pictures": Out(
                    f"{R}/scene_pictures",
                    True,
                    report=Report(
                        "data", "scene_picture.rst", subcategory="listening-example scenes", patterns=("{example}.png",)
                    ),
                ),
            },
            ("audio", "train.device"),
            ("evaluate.run", "evaluate.listening", "train.runtime"),
        )

    def report_inputs(self, reference: str | None) -> tuple[list[str], dict[str, Any]]:
        """The report command's input options and the same paths as its dependencies."""
        R = self.results
        scores = tuple(self.score_path(e, i) for e in [*self.binaural_variants(), "mono_mono"] for i in self.ir_sets())
        foa = tuple(o.path for s in self.stages if s.name.startswith("evaluate_foa_") for o in s.outs.values())
        separation = tuple(o.path for s in self.stages if s.name == "evaluate_separation" for o in s.outs.values())
        # the learning curves: every variant's dvclive folder (history and summary; the pre-trainings log others)
        runs = [s for s in self.stages if s.name.startswith("train_") and "plots" in s.outs]
        curves = tuple(str(Path(s.outs["plots"].path).parent.parent) for s in runs)
        histories = tuple(p for s in runs for p in (s.outs["plots"].path, s.outs["metrics"].path))
        # every artifact upstream of the report: the reproduction section compares their hashes
        artifacts = tuple(
            sorted({o.path for s in self.stages for o in s.outs.values() if o.path.startswith(("data/", "models/"))})
        )
        args = ["report", "--scores", *scores, "--examples", f"{R}/examples", "--separation-scores", *separation]
        args += ["--costs", f"{R}/audio_costs.csv", "--artifacts", *artifacts, "--curves", *curves]
        if foa:
            args += ["--foa-scores", *foa]
        # the vision pre-trainings' summaries, for the 3D-against-2D section's pretext accuracies
        pretext = ()
        if self.panorama_variants():
            pretext = tuple(s.outs["metrics"].path for s in self.stages if s.name in VISION_NETS.values())
            args += ["--pretext", *pretext]
        deps: dict[str, Any] = {
            "scores": scores,
            "examples": f"{R}/examples",
            "separation": separation,
            "costs": f"{R}/audio_costs.csv",
            "artifacts": artifacts,
            "curves": histories,
        }
        if foa:
            deps["foa"] = foa
        if pretext:
            deps["pretext"] = pretext
        if reference is not None:
            args += ["--reference", reference]
            deps["reference"] = reference
        spread = (self.P.get("report") or {}).get("seed_spread")
        if spread:  # a committed benchmark output (benchmarks/seed_spread.py): an input of the page
            args += ["--seed-spread", spread]
            deps["seed_spread"] = spread
        return args, deps

    def report(self, reference: str | None) -> None:
        R = self.results
        args, deps = self.report_inputs(reference)
        page = Report("scores", "report_page.rst", subcategory="results page")
        self.add(
            "report",
            "report",
            [*args, "--out", R],
            deps,
            {
                "page": Out(f"{R}/README.md", cache=False, report=page),
                "metrics": Out(f"{R}/metrics.json", cache=False, metric=True, report=page),
                "reproduction": Out(f"{R}/reproduction.json", cache=False, report=page),
                "tables": Out(
                    f"{R}/tables",
                    True,
                    cache=False,
                    report=Report("scores", "tables.rst", subcategory="tables", patterns=("{table}.html",)),
                ),
                "figures": Out(
                    f"{R}/figures",
                    True,
                    cache=False,
                    report=Report("scores", "figures.rst", subcategory="figures", patterns=("{figure}.png",)),
                ),
            },
            ("audio", "hrir", "rooms", "scenes", "dataset", "pretrain_audio", "variants", "reproduce", "report"),
            ("report.run", "settings.report"),
        )


def reference_dir(params: Mapping[str, Any], root: Path) -> str | None:
    """The committed reference run of this profile, when there is one (results/reference/<profile>)."""
    path = f"results/reference/{params['profile']}"
    return path if (root / path / "tables").is_dir() else None


def stage_graph(params: Mapping[str, Any], root: Path | str = ".") -> list[Stage]:
    """Every stage of one resolved profile, in a topological order, with its code paths filled in."""
    root = Path(root).resolve()
    b = _Builder(params)
    if params["dataset"]["source"] == "real":
        b.downloads()
    else:
        b.embedded()
    b.data_half()
    b.models_half()
    b.evaluation()
    b.report(reference_dir(params, root))
    return [replace(s, code=tuple(code_paths(s.modules))) for s in b.stages]


def by_topic(stages: list[Stage], topic: str) -> list[Stage]:
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    return [s for s in stages if s.topic == topic]


def final_outputs(stages: list[Stage]) -> list[str]:
    """What `snakemake` builds by default: the report (everything else is upstream of it)."""
    return [o.path for s in stages if s.name == "report" for o in s.outs.values()]
