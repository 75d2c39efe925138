# Cluster requests of the training rules, read from params.yaml `resources:` (see docs/cluster.md),
# and the launcher that starts a training command over the allocation (torchrun when it holds
# several GPUs or nodes). Included by the Snakefile before the rules; in a rule:
#
#     threads: training_threads("train")
#     resources: **cluster_resources("train")
#     shell: "{LAUNCH_TRAIN} train ..."            # instead of "{CLI} train ..."
#
# The other rules take the small defaults of the profile (workflow/profiles/slurm/config.yaml).
# Locally these requests are inert unless `--resources` caps them (e.g. `--resources gpu=1`).

from snakemake.exceptions import WorkflowError


def cluster_resources(kind):
    """mem_mb, runtime (min), cpus_per_task and GPUs of one kind of rule (resources.<kind>)."""
    r = P["resources"][kind]
    out = {"mem_mb": int(r["mem_mb"]), "runtime": int(r["runtime_min"]), "cpus_per_task": int(r["cpus"])}
    gpus, nodes = int(r.get("gpus", 0)), int(r.get("nodes", 1))
    if nodes > 1:
        out["nodes"] = nodes
        if gpus:
            out["gres"] = f"gpu:{gpus}"   # per node
    elif gpus:
        out["gpu"] = gpus                 # sbatch --gpus
    return out


def training_threads(kind):
    """resources.<kind>.cpus, at most the cores of one machine (on 2 cores, 1-core demo runs go two
    at a time: two single-threaded runs train faster than one on both cores); in cluster jobs the
    job's CPUs (there `workflow.cores` is the job limit, not a machine's cores)."""
    cpus = int(P["resources"][kind]["cpus"])
    if workflow.remote_exec:                # inside a cluster job
        return cpus
    try:
        return min(workflow.cores, cpus)    # one machine (--cores N): several runs at once when cpus < cores
    except WorkflowError:                   # a cluster run gives no --cores: each job has its own
        return cpus


def launcher(kind):
    """`python -m points2sound`, or torchrun with one process per GPU (per node) of the allocation.

    One process trains on one GPU (or the CPU); torchrun sets RANK/WORLD_SIZE and the
    training command joins the process group (NCCL on GPUs, gloo on CPU). Several nodes:
    one torchrun per node (srun), meeting at the first node of the job (c10d rendezvous).
    """
    r = P["resources"][kind]
    gpus, nodes = int(r.get("gpus", 0)), int(r.get("nodes", 1))
    run = f"{sys.executable} -m torch.distributed.run"
    if nodes > 1:
        return (f"srun --overlap --ntasks-per-node=1 --nodes={nodes} {run} --nnodes={nodes} "
                f"--nproc-per-node={max(gpus, 1)} --rdzv-backend=c10d --rdzv-id=$SLURM_JOB_ID "
                f"--rdzv-endpoint=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1):29500 -m points2sound")
    if gpus > 1:
        return f"{run} --standalone --nproc-per-node={gpus} -m points2sound"
    return CLI


LAUNCH_TRAIN = launcher("train")
LAUNCH_PRETRAIN = launcher("pretrain")
