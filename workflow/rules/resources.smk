# How a stage of the graph becomes a rule: its inputs and outputs, threads, cluster requests
# (params.yaml `resources:`, see docs/cluster.md) and the launcher of its command (torchrun when
# the allocation holds several GPUs or nodes). Included by the Snakefile before the rules.

from snakemake.exceptions import WorkflowError

from points2sound.pipeline.codedeps import code_paths
from points2sound.pipeline.codedeps import expand as expand_code
from points2sound.pipeline.graph import by_topic


def stage_inputs(stage):
    """Named data inputs, and the stage's source files (Snakemake compares file times)."""
    # lists: Snakemake reads tuples otherwise
    deps = {k: v if isinstance(v, str) else list(v) for k, v in stage.deps.items()}
    return {**deps, "code": expand_code(list(stage.code), Path(workflow.basedir))}


def stage_outputs(stage):
    return {k: report_output(o, directory(o.path) if o.directory else o.path) for k, o in stage.outs.items()}


def report_output(out, value):
    """An output that `snakemake --report` shows: its category and RST caption (workflow/report/)."""
    if out.report is None:
        return value
    r = out.report
    return report(
        value,
        caption=f"../report/{r.caption}",  # relative to workflow/rules/, where the rules are defined
        category=r.category,
        subcategory=r.subcategory,
        labels=dict(r.labels) if r.labels else None,
        patterns=list(r.patterns),
    )


def stage_benchmarks(stages):
    """The `benchmark:` files of the stages (tab-separated wall/CPU time and peak memory of each job)."""
    return [s.benchmark for s in stages]


def stage_digest(stage):
    """Rerun a rule when the parameter keys it reads change (Snakemake's params trigger)."""
    return section_digest(P, *stage.param_keys())


def topic_outputs(*topics):
    return [o.path for t in topics for s in by_topic(GRAPH, t) for o in s.outs.values()]


def stage_resources(stage):
    """mem_mb, runtime (min), cpus_per_task and GPUs of a training rule (resources.<kind>)."""
    if stage.resources is None:
        return {}
    r = P["resources"][stage.resources]
    out = {"mem_mb": int(r["mem_mb"]), "runtime": int(r["runtime_min"]), "cpus_per_task": int(r["cpus"])}
    gpus, nodes = int(r.get("gpus", 0)), int(r.get("nodes", 1))
    if nodes > 1:
        out["nodes"] = nodes
        if gpus:
            out["gres"] = f"gpu:{gpus}"  # per node
    elif gpus:
        out["gpu"] = gpus  # sbatch --gpus
    return out


def stage_threads(stage):
    """resources.<kind>.cpus, at most the cores of one machine (on 2 cores, 1-core demo runs go two
    at a time); in cluster jobs the job's CPUs. The command picks the same count by itself
    (pipeline.training.stage_threads), so both engines train with the same threads and the same float sums."""
    if stage.resources is None:
        return 1
    cpus = int(P["resources"][stage.resources]["cpus"])
    if workflow.remote_exec:  # inside a cluster job
        return cpus
    try:
        return min(workflow.cores, cpus)
    except WorkflowError:  # a cluster run gives no --cores: each job has its own
        return cpus


def launcher(kind):
    """`python -m points2sound`, or torchrun with one process per GPU (per node) of the allocation.

    One process trains on one GPU (or the CPU); torchrun sets RANK/WORLD_SIZE and the training
    command joins the process group (NCCL on GPUs, gloo on CPU). Several nodes: one torchrun per
    node (srun), meeting at the first node of the job (c10d rendezvous).
    """
    cli = f"{sys.executable} -m points2sound"
    if kind is None:
        return cli
    r = P["resources"][kind]
    gpus, nodes = int(r.get("gpus", 0)), int(r.get("nodes", 1))
    run = f"{sys.executable} -m torch.distributed.run"
    if nodes > 1:
        return (
            f"srun --overlap --ntasks-per-node=1 --nodes={nodes} {run} --nnodes={nodes} "
            f"--nproc-per-node={max(gpus, 1)} --rdzv-backend=c10d --rdzv-id=$SLURM_JOB_ID "
            f"--rdzv-endpoint=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1):29500 -m points2sound"
        )
    if gpus > 1:
        return f"{run} --standalone --nproc-per-node={gpus} -m points2sound"
    return cli


def stage_shell(stage):
    """The launcher, then the command exactly as dvc.yaml has it."""
    return f"{launcher(stage.resources)} {stage.command}"


def costs_code():
    """The source files of `points2sound stage-costs` (costs.smk): code changes rerun it."""
    return expand_code(list(code_paths("pipeline.stages.stage_costs")), Path(workflow.basedir))
