# Parse-time helpers: which experiments and jobs exist, and where files go.
# Job configs are validated here, so a bad config fails before any job starts.
from einet.experiment import Experiment
from einet.runs import run_kind_of
from einet.errors import ConfigError
import shlex
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
