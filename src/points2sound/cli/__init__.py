"""The `points2sound` command: stage commands go to the pipeline's runner, the rest to `cli.app`.

The dispatch imports nothing else for a stage command, so editing a user command (`binauralize`,
`render`, `show-scene`, `params`, `data status`) reruns no stage.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from ..pipeline.stages import stage_command

    argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    if stage_command(argv) is not None:
        from ..pipeline.runner import main as run_stage

        return run_stage(argv)
    from .app import main as run_app  # codedeps: not followed for stages (they never get here)

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
