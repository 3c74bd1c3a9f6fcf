"""Learning: gradient training and local plasticity rules.

==================  ===========================================================
``registry``        the one registry of learning rules, rate and spike kinds
                    (:data:`LEARNING_RULES`, :func:`register_rule`, :func:`learning_rule`)
``rules``           rate rules: backprop, hebbian, oja, bcm, vogels_sprekeler
                    (how to add one: see the module docstring)
``supervised``      train a layered network (:mod:`einet.network.builder`) on a
                    classification split with any mix of rules; schedules,
                    resumable checkpoints
``checkpoint``      model and checkpoint files (tensors and plain values, atomic)
``network_training`` the train stage's work for ``training.network``
``classifier``      sigmoid MLPs with plain SGD (effective information)
==================  ===========================================================
"""

from einet.plasticity.registry import LEARNING_RULES, learning_rule, register_rule, rule_names

__all__ = ["LEARNING_RULES", "learning_rule", "register_rule", "rule_names"]
