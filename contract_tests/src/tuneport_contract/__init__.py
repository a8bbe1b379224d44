"""tuneport-contract: the contract test kit for tuneport backends.

The kit's behaviours arrive with their own issue; this distribution is
versioned in lockstep with ``tuneport`` so a backend can pin both.
"""

__version__ = "0.1.0"
