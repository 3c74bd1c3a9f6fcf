"""Neuron models: every population model, rate and spiking, one file each.

==================  ============================================================
``transfer``        rate populations' transfer functions Phi (``TRANSFERS``)
``lif``, ``alif``   leaky integrate-and-fire, plain and adaptive (current or
                    conductance input)
``qif``             quadratic integrate-and-fire, solved exactly per step
``surrogate``       spike nonlinearities with surrogate derivatives (training)
``registry``        ``NEURONS`` and ``register_neuron``: name -> model
==================  ============================================================

A spiking model is one file ending in one ``register_neuron(...)`` call; every
module of this folder is imported with the package, so a new file is all it
takes for its model to be known by name.
"""

import importlib as _importlib
import pkgutil as _pkgutil

from einet.neurons.registry import NEURONS, SpikingModel, register_neuron

for _module in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["NEURONS", "SpikingModel", "register_neuron"]
