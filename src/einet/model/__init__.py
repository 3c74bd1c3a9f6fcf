"""Network models: the validated spec, transfer functions, connectivity, the network module."""

from einet.config.model import ExternalSpec, ModelSpec, PopulationSpec, ProjectionSpec, TransferSpec

__all__ = ["ExternalSpec", "ModelSpec", "PopulationSpec", "ProjectionSpec", "TransferSpec"]
