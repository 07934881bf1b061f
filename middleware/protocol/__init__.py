"""Ostinato's wire protocol (docs/protocol.md): envelope, codec, request schemas, errors.

Cheap to import (msgpack and numpy only), so the service and the client start fast.
"""

from middleware.protocol.codec import (
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    PcmHeader,
    Reply,
    Request,
)
from middleware.protocol.messages import REQUEST_TYPES, validate_body

__all__ = [
    "PROTOCOL_VERSION",
    "REQUEST_TYPES",
    "SUPPORTED_VERSIONS",
    "PcmHeader",
    "Reply",
    "Request",
    "validate_body",
]
