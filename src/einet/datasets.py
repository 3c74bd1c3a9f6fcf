"""Classification datasets: Iris and digits ship with scikit-learn, MNIST is read from local IDX files.

Nothing is downloaded at run time. MNIST is read from a directory holding the
four files of the original distribution (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each optionally gzipped) with :func:`read_idx`;
its own test set is kept as the test part.

Features are standardised with the training set's mean and standard
deviation only (the test set must not leak into the scaling); the split is
stratified, so both parts keep the class proportions, and seeded.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from einet.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where tensors are made, so MNIST_FILES stays light
    import torch

__all__ = ["Split", "load", "read_idx", "write_idx", "DATASETS", "MNIST_FILES"]

DATASETS = ("iris", "digits", "mnist")

#: The MNIST files by part, as distributed (``.gz`` accepted too).
MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}


# IDX type codes (third byte of the magic number) and their big-endian numpy types.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


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


def read_idx(path: str | Path) -> np.ndarray:
    """The array in an IDX file (the MNIST format), gzipped or not, in native byte order.

    Layout: two zero bytes, a type code, the number of dimensions ``d``, ``d``
    big-endian uint32 sizes, then the values in C order, big-endian.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic bytes {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: {len(raw)} bytes, expected {expected} for shape {shape} of {dtype}")
    data = np.frombuffer(raw, dtype, offset=offset).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(array: np.ndarray, path: str | Path) -> Path:
    """Write ``array`` as an IDX file (the inverse of :func:`read_idx`; used to make test files)."""
    array = np.asarray(array)
    codes = {np.dtype(t).newbyteorder("="): c for c, t in _IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX has no type for {array.dtype}; known: {', '.join(_IDX_TYPES.values())}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    path = Path(path)
    path.write_bytes(header + array.astype(_IDX_TYPES[code]).tobytes())
    return path


def _idx_file(directory: Path, stem: str) -> Path:
    for name in (stem, f"{stem}.gz"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"MNIST file {stem}[.gz] not found in {directory}")


def _mnist(directory: str | Path) -> tuple[np.ndarray, ...]:
    """Train and test images (flattened, 0..1) and labels from a directory of MNIST IDX files.

    A missing, truncated, garbled or mismatched file is a :class:`ConfigError` of ``training.mnist_path``
    naming the file, raised before any training starts."""
    try:
        return _read_mnist(Path(directory))
    except (OSError, EOFError, ValueError) as err:  # gzip's BadGzipFile is an OSError
        raise ConfigError("training.mnist_path", str(directory),
                          f"a directory of valid MNIST IDX files ({' '.join(str(err).split())})") from None


def _read_mnist(directory: Path) -> tuple[np.ndarray, ...]:
    parts = {key: read_idx(_idx_file(directory, stem)) for key, stem in MNIST_FILES.items()}
    for part in ("train", "test"):
        images, labels = parts[f"x_{part}"], parts[f"y_{part}"]
        stem = MNIST_FILES[f"y_{part}"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{directory / MNIST_FILES[f'x_{part}']}: images of shape {images.shape[1:]}, "
                             "expected [n, 28, 28]")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"{directory / stem}: {len(labels)} labels for {len(images)} images, expected one per image")
        if len(labels) and (labels.min() < 0 or labels.max() > 9):
            bad = labels[(labels < 0) | (labels > 9)]
            raise ValueError(f"{directory / stem}: label {int(bad[0])} ({len(bad)} in all), expected digits 0-9")
    x_tr, x_te = (parts[k].reshape(len(parts[k]), -1).astype(np.float64) / 255.0 for k in ("x_train", "x_test"))
    return x_tr, x_te, parts["y_train"].astype(np.int64), parts["y_test"].astype(np.int64)


def load(name: str, *, test_fraction: float = 0.25, seed: int = 0, mnist_path: str | Path | None = None) -> Split:
    """Dataset ``name`` split into train and test parts, each class split in the same proportion.

    MNIST (``mnist_path``: its directory) keeps its own test set; ``test_fraction`` and ``seed`` do not apply.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if name == "mnist":
        if mnist_path is None:
            raise ValueError(f"dataset mnist needs mnist_path (a directory of IDX files); known: {', '.join(DATASETS)}")
        x_tr, x_te, y_tr, y_te = _mnist(mnist_path)
        y = np.concatenate([y_tr, y_te])
    else:
        x, y = _raw(name)
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    mean = x_tr.mean(axis=0)
    std = x_tr.std(axis=0)
    std[std == 0] = 1.0  # constant pixels (digits' borders) stay 0 instead of dividing by 0
    import torch  # here, so that the workflow can read MNIST_FILES without loading torch

    as_x = lambda a: torch.as_tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    return Split(name, as_x(x_tr), torch.as_tensor(y_tr), as_x(x_te), torch.as_tensor(y_te), int(y.max()) + 1)
