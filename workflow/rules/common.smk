# Parse-time helpers: which experiments and jobs exist, and where files go.
# Job configs are validated here, so a bad config fails before any job starts.
from einet.experiment import Experiment
from einet.runs import run_kind_of
from einet.errors import ConfigError
from einet.runs import placement
from functools import cache
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


wildcard_constraints:
    exp=r"[A-Za-z0-9_-]+",
    job=r"[A-Za-z0-9_.+~/-]+",
    figure=r"[A-Za-z0-9_]+",


def load_experiments():
    experiments = {}
    for name in config["experiments"]:
        path = f"config/experiments/{name}.yaml"
        try:
            experiments[name] = Experiment(path, config.get("scale"))
        except ConfigError as err:
            raise WorkflowError(f"{path}: {err}")
    return experiments


EXPERIMENTS = load_experiments()


JOB_CONFIG = "results/{exp}/configs/{job}.yaml"


def job_config_paths(name, experiment):
    """Every job's resolved config file: the outputs of the experiment's expansion rule."""
    return [JOB_CONFIG.format(exp=name, job=job) for job in experiment.job_names()]


def external_inputs(wildcards):
    """Files outside the config that the job reads (model.low_rank.file, the MNIST files): a change reruns it."""
    return EXPERIMENTS[wildcards.exp].external_files(wildcards.job)


def simulation_threads(wildcards):
    """The job's simulation.threads, else 2: what Snakemake reserves for it and what torch uses."""
    job = EXPERIMENTS[wildcards.exp].job_config(wildcards.job)
    return (job.get("simulation") or {}).get("threads") or 2


def configs_directory(wildcards, output):
    """The directory the expansion writes into: results/<exp>/configs of its first output."""
    return str(Path(*Path(output[0]).parts[:3]))


def scale_flag():
    """The expand command's scale option, quoted (the schema allows letters, digits, _ and - only)."""
    return f"--scale {shlex.quote(config['scale'])}" if config.get("scale") else ""


def analysis_input(wildcards):
    """The run file of the job's stage: trained/ for train-stage run kinds, runs/ for the others."""
    if run_kind_of(EXPERIMENTS[wildcards.exp].spec).stage == "train":
        return rules.train.output.nc.format(**wildcards)
    return rules.simulate.output[0].format(**wildcards)


def experiment_analyses(wildcards):
    jobs = EXPERIMENTS[wildcards.exp].job_names()
    return expand("results/{exp}/analysis/{job}.nc", exp=wildcards.exp, job=jobs)


def figure_paths():
    return [
        f"results/figures/{exp}-{figure}.{ext}"
        for exp, experiment in EXPERIMENTS.items()
        for figure in experiment.spec.figures
        for ext in ("pdf", "png")
    ]


def final_outputs():
    summaries = [f"results/{exp}/summary.nc" for exp in EXPERIMENTS]
    return summaries + figure_paths()


# What each job asks a scheduler for, from the job's own config: a GPU only for the jobs that gain from
# one (einet.runs.placement), memory from the network's estimate, and train's priority as SLURM's nice.
# They are resources of the rules themselves, not the profile's set-resources: a command-line
# `--set-resources simulate:runtime=600` changes that one value and keeps the others (profiles/README.md).
#: Trainings are the longest jobs: start them first so they overlap the many short ones.
TRAIN_PRIORITY = 10
#: SLURM has no user-settable priority; --nice (positive: later) orders a user's own jobs instead.
NICE_PER_PRIORITY = 10


@cache
def cluster_has_gpus():
    """Whether the SLURM cluster this runs on lists a gpu GRES on any node (no sinfo: no cluster)."""
    if shutil.which("sinfo") is None:
        return False
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%G"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any("gpu" in line for line in out.split())


def gpus_allowed():
    """The `gpus` config switch: auto (default) follows the cluster, 0 never asks, 1 always may."""
    setting = str(config.get("gpus", "auto"))
    return cluster_has_gpus() if setting == "auto" else setting == "1"


@cache
def validated_job(exp, job):
    """A job's validated spec, once per job (each resource asks for it)."""
    return EXPERIMENTS[exp].job_spec(job)


def gpu_request(wildcards):
    """1 when the job gains from a GPU (a large network on device auto/cuda) and the cluster may give one."""
    if not gpus_allowed():
        return 0
    return int(placement.wants_gpu(validated_job(wildcards.exp, wildcards.job)))


def job_memory_mb(wildcards):
    """The job's memory estimate in MB (einet.runs.placement.memory_mb), at least 4000."""
    return max(4000, placement.memory_mb(validated_job(wildcards.exp, wildcards.job)))


def slurm_nice(priority):
    """sbatch's --nice for this Snakemake priority (the highest priority gets none)."""
    return f"--nice={NICE_PER_PRIORITY * (TRAIN_PRIORITY - priority)}"


KERNELS_LOG = "results/logs/kernels.log"
KERNELS_REPORT = "results/kernels.txt"


def build_kernels():
    """`einet kernels` before the first job: each kernel built (or found) once; one that cannot be
    built leaves its jobs on plain torch, so a failure here is reported and the run goes on.
    """
    try:  # a local run's --cores; a cluster run has none, and builds two at a time on the login node
        cores = workflow.cores or 1
    except WorkflowError:
        cores = 2
    jobs = max(1, min(os.cpu_count() or 1, cores))
    cmd = [sys.executable, "-m", "einet", "--log", KERNELS_LOG, "kernels"]
    cmd += ["--jobs", str(jobs), "--out", KERNELS_REPORT]
    print(f"einet: compiled kernels (log: {KERNELS_LOG})", file=sys.stderr)
    if subprocess.run(cmd).returncode != 0:
        print(
            f"einet: building the kernels failed (see {KERNELS_LOG}); jobs use plain torch",
            file=sys.stderr,
        )
