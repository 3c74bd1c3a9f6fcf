"""einet: excitatory-inhibitory network models in PyTorch, run as a reproducible pipeline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("einet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
