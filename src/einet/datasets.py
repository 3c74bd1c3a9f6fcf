"""Small classification datasets that ship with scikit-learn: nothing is downloaded at run time.

Features are standardised with the training set's mean and standard
deviation only (the test set must not leak into the scaling); the split is
stratified, so both parts keep the class proportions, and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Split", "load", "DATASETS"]

DATASETS = ("iris", "digits")


@dataclass(frozen=True)
class Split:
    """A standardised, stratified train/test split (features float32, labels int64)."""

    name: str
    x_train: torch.Tensor  # [n_train, features]
    y_train: torch.Tensor  # [n_train]
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])


def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "iris":
        data = datasets.load_iris()
    elif name == "digits":
        data = datasets.load_digits()
    else:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.int64)


def load(name: str, *, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """Dataset ``name`` split into train and test parts, each class split in the same proportion."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    x, y = _raw(name)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    mean = x_tr.mean(axis=0)
    std = x_tr.std(axis=0)
    std[std == 0] = 1.0  # constant pixels (digits' borders) stay 0 instead of dividing by 0
    as_x = lambda a: torch.as_tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    return Split(name, as_x(x_tr), torch.as_tensor(y_tr), as_x(x_te), torch.as_tensor(y_te), int(y.max()) + 1)
