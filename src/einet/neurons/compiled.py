"""When a neuron model's compiled CPU step (:mod:`einet.kernels`) may stand in for its torch expressions.

Shared by the models with such a step (QIF, adaptive LIF): the state on the CPU in float32/64, no
autograd, parameters that are plain numbers, and inputs that are scalars, per neuron or shaped like
the state, so the kernel can index them without broadcasting rules of its own.
"""

from __future__ import annotations

import torch


def applies(v: torch.Tensor, tensors, scalars) -> bool:
    """Whether a compiled step may run: ``v`` on the CPU in float32/64, none of ``tensors`` needing a gradient,
    every one of ``scalars`` a plain number."""
    if v.device.type != "cpu" or v.dtype not in (torch.float32, torch.float64) or v.dim() == 0:
        return False
    if torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in (v, *tensors)):
        return False
    return not any(isinstance(x, torch.Tensor) for x in scalars)


def kernel_input(x, v: torch.Tensor) -> torch.Tensor | None:
    """``x`` as a contiguous tensor of ``v``'s dtype with 1, ``n`` (per neuron) or all of ``v``'s elements; None
    where it broadcasts otherwise."""
    t = torch.as_tensor(x, dtype=v.dtype)
    n = v.shape[-1]
    if t.numel() == 1 or t.shape == v.shape or (t.numel() == n and t.shape[-1:] == (n,)):
        return t.contiguous()
    return None


def arrivals(arriving: torch.Tensor | None, v: torch.Tensor) -> torch.Tensor | None:
    """The arrivals as the kernel takes them (an empty tensor for none), or None if shaped otherwise than ``v``."""
    if arriving is None:
        return v.new_zeros(0)
    return arriving.to(v.dtype).contiguous() if arriving.shape == v.shape else None
