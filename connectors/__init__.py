"""Platform connectors: poll brand mentions incrementally, within rate limits.

A plain library: usable without the rest of sentiment-monitor. See
:mod:`connectors.base` for the contract every connector follows.
"""

from connectors.base import (
    AuthError,
    BadPayload,
    BadQuery,
    Batch,
    BrandQuery,
    Connector,
    ConnectorError,
    Mention,
    RateLimited,
    Secret,
    SecretMissing,
    TransientError,
)

__all__ = [
    "AuthError",
    "BadPayload",
    "BadQuery",
    "Batch",
    "BrandQuery",
    "Connector",
    "ConnectorError",
    "Mention",
    "RateLimited",
    "Secret",
    "SecretMissing",
    "TransientError",
]
