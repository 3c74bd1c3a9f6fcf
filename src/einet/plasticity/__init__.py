"""Plasticity: the one registry of learning rules, rate and spike kinds.

==================  ============================================================
``registry``        ``LEARNING_RULES``, ``register_rule``, ``learning_rule``:
                    one name space for every rule, duplicates refused
``rate_rules``      rules on rates: backprop, Hebbian, Oja, BCM, Vogels-Sprekeler
                    (how to add one: see its docstring)
``spiking``         what a spike rule sees (spikes and traces) and its state
``stdp``            pair-based and reward-modulated STDP
==================  ============================================================
"""

from einet.plasticity.registry import LEARNING_RULES, learning_rule, register_rule, rule_names

__all__ = ["LEARNING_RULES", "learning_rule", "register_rule", "rule_names"]
