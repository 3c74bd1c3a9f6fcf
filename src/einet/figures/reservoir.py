"""Reservoir computing: target against the ridge and FORCE readouts on held-out time."""

from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr

from einet.errors import EinetError
from einet.figures import caption


@caption("""\
Reservoir computing (experiment ``{{ snakemake.wildcards.exp }}``): a random recurrent network
(tanh rate units, or with ``reservoir.neuron: qif`` quadratic integrate-and-fire spiking neurons
read out through their synaptic traces, Nicola & Clopath 2017) receives two sines (periods 200
and 130 ms) and a linear readout learns their product. Top: readout fitted offline by ridge
regression on a reservoir without feedback (a stable one, g < 1, for tanh units). Bottom: FORCE
learning (recursive least squares with the output fed back, Sussillo & Abbott 2009) on a more
strongly coupled reservoir (chaotic, g > 1, for tanh units). Both show the target (black) and the
output (dashed) on held-out time after training, with the held-out R²; with grid axes, the first
job is shown.
""")
def draw_reservoir(ds: xr.Dataset) -> plt.Figure:
    """One panel per readout: the target (black) and the output on the held-out time, R² in the title."""
    if "output" not in ds or "test_time" not in ds.dims:
        raise EinetError("the reservoir figure needs the summary of a reservoir analysis (analysis.kind: reservoir)")
    extra = [d for d in ds["r2"].dims if d != "readout"]
    one = ds.isel({d: 0 for d in extra})
    readouts = [str(r) for r in one.readout.values]
    fig, axes = plt.subplots(len(readouts), 1, figsize=(10, 2.6 * len(readouts)), sharex=True, constrained_layout=True)
    t = one.test_time.values
    for ax, name, color in zip(axes, readouts, ("tab:blue", "tab:orange")):
        ax.plot(t, one.target.values, color="k", lw=2.0, label="target")
        ax.plot(t, one.output.sel(readout=name).values, color=color, lw=1.0, ls="--", label=f"{name} output")
        ax.set(ylabel="output", title=f"{name}: held-out R² = {float(one.r2.sel(readout=name)):.4f}")
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time [ms] (held out: after training)")
    return fig
