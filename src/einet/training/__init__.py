"""Training: gradient and closed-form fitting of networks.

===================  ===========================================================
``bptt``             the one gradient loop, ``fit_bptt``: optimizers, schedule,
                     clipping, constraints, history, checkpoints with exact resume
``task_training``    its objective for rate networks on tasks (fresh trials, angle
                     and decision losses, truncated BPTT)
``spiking``          its objective for recurrent spiking networks on target
                     sequences (BPTT or e-prop gradients)
``sequence_loss``    their losses (mse, cross-entropy) and rate regulariser
``rate_parameters``  which quantities of a rate network train, Dale's law kept
``supervised``       layered networks trained on a classification split with any
                     mix of learning rules
``eprop``            e-prop for recurrent spiking networks
``ridge``, ``rls``   readouts: ridge regression and RLS/FORCE
``checkpoint``       model and checkpoint files (tensors and plain values, atomic)
===================  ===========================================================
"""
