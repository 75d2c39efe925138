"""The stage kinds, one module each, in the order the graph lists their stages.

Keys are the commands (`points2sound <command>`), values the modules under this package. The
runner imports only the module of the command it runs, so this table is plain data.
"""

KINDS = {
    "data fetch": "fetch",
    "embed-audio": "embed_audio",
    "embed-frames": "embed_frames",
    "embed-shapes": "embed_shapes",
    "split": "split",
    "make-hrir": "make_hrir",
    "make-brir": "make_brir",
    "render-split": "render",
    "scenes": "test_scenes",
    "pretrain": "pretrain_vision",
    "pretrain-separation": "pretrain_separation",
    "pretrain-panorama": "pretrain_vision_2d",
    "train": "train",
    "evaluate": "evaluate",
    "evaluate-mono-mono": "evaluate_mono_mono",
    "evaluate-foa": "evaluate_foa",
    "evaluate-separation": "evaluate_separation",
    "audio-costs": "audio_costs",
    "examples": "listening_examples",
    "report": "report",
    "stage-costs": "stage_costs",
}


def stage_command(argv: list[str]) -> str | None:
    """The stage command that `argv` (after `points2sound`) runs, if it runs one."""
    for words in (2, 1):
        command = " ".join(argv[:words])
        if command in KINDS:
            return command
    return None
