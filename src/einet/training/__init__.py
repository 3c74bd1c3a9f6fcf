"""Training: gradient and closed-form fitting of networks.

===================  ===========================================================
``task_training``    rate networks trained on tasks by truncated BPTT (angle and
                     decision objectives, checkpoints with exact resume)
``rate_parameters``  which quantities of a rate network train, Dale's law kept
``supervised``       layered networks trained on a classification split with any
                     mix of learning rules
``eprop``            e-prop for recurrent spiking networks
``ridge``, ``rls``   readouts: ridge regression and RLS/FORCE
``checkpoint``       model and checkpoint files (tensors and plain values, atomic)
===================  ===========================================================
"""
