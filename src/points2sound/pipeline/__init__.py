"""The pipeline: one module per stage kind (`stages/`), and what turns them into both engines' graphs.

A stage kind's module declares its command, options, parameter keys and resources once
(`declare.StageKind`), says which stages of that kind a profile has (`stages(layout)`),
and holds the function that runs one (`run`). `graph.py` collects them for one profile;
the Snakefile makes one rule of each stage and `dvc_yaml.py` renders `dvc.yaml` from the
same list. `runner.py` runs one stage command; it imports only that stage's module, so a
stage's code dependencies are its module's imports plus a small fixed core (`codedeps.py`).
"""
