"""Ring profiles f(theta_i - theta_j) of structured projections, each with mean 1 over the ring.

With mean 1 the mean coupling stays J (all_to_all: J f / N) and the mean
in-degree stays K (sparse: probability K f / N), so mean-field theory is
unchanged by the structure; only the modulation differs. ``peak`` bounds f
and is what a sparse projection's thinning divides by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from scipy.special import i0e

from einet.config.model import ProjectionSpec, profile_peak


@dataclass(frozen=True)
class Profile:
    fn: Callable[[torch.Tensor], torch.Tensor]  # delta [rad] -> f(delta), mean 1 over the ring
    peak: float  # max over delta


def _cosine(proj: ProjectionSpec):
    """``1 + kappa cos(delta)``."""
    return lambda d: 1.0 + proj.kappa * torch.cos(d)


def _von_mises(proj: ProjectionSpec):
    """``exp(c cos delta) / I0(c)``: its mean cos(delta) is I1(c)/I0(c).

    Computed as ``exp(c (cos delta - 1)) / i0e(c)`` (``i0e(c) = exp(-c) I0(c)``), which never overflows:
    exp(c) alone does for c > 88 in float32 and c > 709 in float64."""
    c = proj.concentration
    norm = float(i0e(c))
    return lambda d: torch.exp(c * (torch.cos(d) - 1.0)) / norm


def _gaussian(proj: ProjectionSpec):
    """A wrapped Gaussian of standard deviation ``width`` [rad], times 2 pi (so its mean is 1)."""

    def fn(d: torch.Tensor) -> torch.Tensor:
        total = sum(torch.exp(-((d + 2 * math.pi * k) ** 2) / (2 * proj.width**2)) for k in range(-4, 5))
        return total * (math.sqrt(2 * math.pi) / proj.width)

    return fn


_SHAPES = {"cosine": _cosine, "von_mises": _von_mises, "gaussian": _gaussian}


def of(proj: ProjectionSpec) -> Profile | None:
    """The profile of a projection, or None for a uniform one."""
    if proj.profile == "uniform":
        return None
    return Profile(_SHAPES[proj.profile](proj), profile_peak(proj))
