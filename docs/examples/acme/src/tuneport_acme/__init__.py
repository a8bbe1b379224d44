"""tuneport-acme: a tuneport backend for the (fictional) Acme Tune HTTP service."""

from tuneport_acme.backend import AcmeBackend
from tuneport_acme.settings import AcmeSettings

__all__ = ["AcmeBackend", "AcmeSettings"]
__version__ = "0.1.0"
