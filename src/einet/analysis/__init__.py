"""Analyses: each turns a run dataset (and its config) into a summary dataset.

``ANALYSES`` maps ``analysis.kind`` to an :class:`Analysis`: a callable
``(run, spec) -> xr.Dataset`` that also says which run kinds
(:data:`einet.runs.RUNS`) it accepts, so a config that pairs an analysis with
a run it cannot read fails when the experiment file is loaded, as does one
without the task or the records the analysis reads (``tasks``, ``records``).
An analysis is one file here with an ``analyze(run, spec)`` function, plus one
``register_analysis`` line below; modules are imported on first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from einet.registry import Registry

__all__ = ["ANALYSES", "Analysis", "analyze", "register_analysis"]


@dataclass(frozen=True)
class Analysis:
    """One analysis kind: ``einet.analysis.<module>.analyze``, imported when first called."""

    name: str
    module: str
    runs: tuple[str, ...]
    tasks: tuple[str, ...] = ()  # task kinds whose trials it reads (empty: no task needed)
    records: tuple[str, ...] = ()  # simulation.record switches that must be on (bump, overlaps)
    task_settings: tuple[tuple[str, object], ...] = ()  # (task key, value) pairs it reads, such as patterns
    writes: tuple[str, ...] = ()  # variable and dimension names of its files (* matches any text)

    def requirement(self, spec) -> tuple[str, object, str] | None:
        """What ``spec`` lacks for this analysis, as (key, value, expected), or None; checked at parse time."""
        if self.tasks and (spec.task is None or spec.task.kind not in self.tasks):
            return ("task.kind", None if spec.task is None else spec.task.kind,
                    f"{' or '.join(self.tasks)}: the {self.name} analysis reads the trials of that task")
        for key, value in self.task_settings:
            if getattr(spec.task, key, None) != value:
                return (f"task.{key}", getattr(spec.task, key, None), f"{value!r}: the {self.name} analysis reads it")
        for flag in self.records:
            if not getattr(spec.simulation.record, flag):
                return (f"simulation.record.{flag}", False, f"true: the {self.name} analysis reads it")
        return None

    def __call__(self, run, spec):
        return importlib.import_module(f"einet.analysis.{self.module}").analyze(run, spec)


ANALYSES: Registry[Analysis] = Registry("analysis")


def analyze(run, spec):
    """The summary of ``run`` by the analysis its config names (``analysis.kind``)."""
    return ANALYSES.get(spec.analysis.kind)(run, spec)


def register_analysis(name: str, module: str | None = None, *, runs: tuple[str, ...], tasks: tuple[str, ...] = (),
                      records: tuple[str, ...] = (), task_settings: dict | None = None,
                      writes: str = "") -> Analysis:
    """Register analysis ``name`` (module ``module``, default ``name``) for the run kinds ``runs``, needing a
    task of one of the kinds ``tasks`` with ``task_settings``, and the record switches ``records``; ``writes``
    lists (space-separated) the names of its files' variables and dimensions, which no sweep axis may take."""
    return ANALYSES.register(name, Analysis(name, module or name, tuple(runs), tuple(tasks), tuple(records),
                                            tuple((task_settings or {}).items()), tuple(writes.split())))


register_analysis("balance", runs=("rate",), writes=(
    "balance_index current_exc current_ext current_inh current_net deviation_balanced "
    "deviation_meanfield fraction_active fraction_active_meanfield meanfield_input_sd population "
    "population_size rate rate_balanced rate_bin rate_hist rate_hist_meanfield rate_meanfield "
    "rate_sd"
))
register_analysis("ring", runs=("rate",), tasks=("odr",), records=("bump",), writes=(
    "baseline_persistence baseline_time bump_threshold "
    "bump_profile cue_angle delay_time diffusion drift epoch error mean_abs_error offset persistence "
    "persistence_trace phase_trace phase_variance population population_size report site time trial "
    "trial_epoch trial_time stp_u_* stp_x_*"
))
register_analysis("multistability", runs=("rate",), writes=(
    "bump m0 m1 persistence population population_size region"
))
register_analysis("dual", runs=("rate",), tasks=("dual",), records=("overlaps",), task_settings={"patterns": "low_rank"}, writes=(
    "baseline_overlap baseline_overlap_max baseline_overlap_sd baseline_time condition condition_sample "
    "condition_task condition_test distractor_accuracy distractor_accuracy_per_condition epoch overlap rank "
    "sample_accuracy sample_accuracy_end_of_delay sample_accuracy_per_condition time variant"
))
register_analysis("recurrent_ei", runs=("rate",), writes=(
    "clipped_population clipped_projection degeneracy_population degeneracy_projection "
    "ei_parts_population ei_parts_projection ei_population ei_projection population projection "
    "projection_source projection_target range_high sampled_neurons sensitivity_population "
    "sensitivity_projection steps"
))
register_analysis("serial_bias", runs=("sessions",), writes=(
    "baseline_persistence bump_threshold "
    "bias_amplitude bias_amplitude_high bias_amplitude_low bias_trials bias_width bias_width_high "
    "bias_width_low cue curve_count curve_mean curve_sem distance_bin error fit_curve fit_distance "
    "fit_high fit_low persistence previous_distance report session signed_bin signed_curve_mean "
    "signed_curve_sem trial"
))
register_analysis("information", "trained", runs=("classifier",), writes=(
    "accuracy_test accuracy_train degeneracy degeneracy_per_pair effectiveness ei ei_ceiling ei_parts "
    "ei_parts_ceiling ei_parts_per_pair ei_parts_samples ei_parts_saturated ei_samples ei_saturated epoch "
    "layer layer_inputs layer_outputs loss_test loss_train plane_degeneracy plane_estimator plane_saturated "
    "sensitivity sensitivity_ceiling sensitivity_per_pair sensitivity_samples sensitivity_saturated"
))
register_analysis("learning", runs=("network_training",), writes=(
    "best_epoch best_test_accuracy epoch feature final_test_accuracy projection receptive_field "
    "sign_violations test_accuracy test_loss train_accuracy train_loss unit weight_abs_max "
    "weight_mean weight_std"
))
register_analysis("spiking", runs=("spiking",), writes=(
    "cv2_mean cv_bin cv_defined cv_hist cv_mean fano isi_count population population_rate population_size "
    "raster raster_neuron raster_population raster_time rate_bin rate_hist rate_mean rate_std synchrony "
    "time"
))
register_analysis("reservoir", runs=("reservoir",), writes=(
    "output r2 readout target test_time"
))
register_analysis("stdp", runs=("stdp",), writes=(
    "dependence final_mean_weight final_rate fraction_high fraction_low group input_rate mean_weight "
    "near_bounds post_rate quantile rate_time sample sample_group sample_input weight_bin "
    "weight_histogram weight_quantile weight_sample weight_time"
))
register_analysis("task_training", runs=("task_training",), writes=(
    "accuracy angle_error choice_correct condition cue decoded_angle decoded_phase delay "
    "dpa_accuracy epoch epoch_start epoch_stop eval_time evaluation_error evaluation_rmse "
    "fixation_overlap fixation_persistence go_accuracy grad_norm iteration learning_rate "
    "lick_probability loss mean_rate paired pattern persistence readout sign_violations stage task "
    "task_variant"
))
register_analysis("decision", runs=("rate",), tasks=("perceptual_decision",), writes=(
    "accuracy accuracy_se baseline_half_difference baseline_time choice coherence coherence_level decided "
    "half_difference ideal_accuracy trial"
))
