"""tuneport-vertex: the Vertex AI ``tuningJobs`` backend."""

from tuneport_vertex.backend import VertexBackend
from tuneport_vertex.settings import VertexSettings

__all__ = ["VertexBackend", "VertexSettings"]
__version__ = "0.1.0"
