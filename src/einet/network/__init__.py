"""Networks: the containers that wire populations and step them.

==================  ============================================================
``rate``            ``RateNetwork``: batched rate populations with every rate
                    projection, STP, synaptic filtering, noise (exact
                    exponential-Euler steps)
``memory``          the memory estimate that refuses a network that cannot fit
``rate_map``        a rate network's one-step map (for effective information)
``spiking``         ``SpikingNetwork``: batched spiking populations with sparse
                    delayed projections; ``spike_events`` runs it
``rsnn``            a differentiable recurrent LIF/ALIF network (gradient training)
``stdp_neuron``     one LIF neuron with plastic Poisson inputs
``reservoir``       tanh and QIF reservoirs with linear readouts
``layered``         ``LayeredNetwork``: population-built layers with leaky dynamics;
                    ``builder`` is its fluent Python front end
``presets``         textbook parameter sets
==================  ============================================================
"""
