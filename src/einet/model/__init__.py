"""Network models: the validated spec, transfer functions, connectivity, the network module."""

from einet.model.spec import ExternalSpec, ModelSpec, PopulationSpec, ProjectionSpec, TransferSpec

__all__ = ["ExternalSpec", "ModelSpec", "PopulationSpec", "ProjectionSpec", "TransferSpec"]
