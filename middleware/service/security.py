"""CurveZMQ for a service exposed beyond loopback: pyzmq's authenticator admits listed keys."""

from __future__ import annotations

from collections.abc import Iterable

import zmq
import zmq.asyncio
import zmq.auth
from zmq.auth.asyncio import AsyncioAuthenticator

from middleware.service.config import CurveKeys
from middleware.service.errors import ServiceStartError


def load_server_keys(keys: CurveKeys) -> tuple[bytes, bytes]:
    """(public, secret) Z85 keys from the server's certificate file."""
    try:
        public, secret = zmq.auth.load_certificate(str(keys.server_secret_file))
    except (OSError, ValueError) as error:
        raise ServiceStartError(
            f"cannot read the server certificate {keys.server_secret_file}: {error}",
            {"file": str(keys.server_secret_file)},
        ) from None
    if not secret:
        raise ServiceStartError(
            f"{keys.server_secret_file} has no secret key (use the '.key_secret' file)",
            {"file": str(keys.server_secret_file)},
        )
    if not keys.clients_dir.is_dir():
        raise ServiceStartError(
            f"authorised clients directory {keys.clients_dir} does not exist",
            {"dir": str(keys.clients_dir)},
        )
    return public, secret


def enable_curve(
    context: zmq.asyncio.Context, sockets: Iterable[zmq.Socket], keys: CurveKeys
) -> AsyncioAuthenticator:
    """Make `sockets` CURVE servers and start an authenticator admitting `keys.clients_dir`."""
    public, secret = load_server_keys(keys)
    auth = AsyncioAuthenticator(context)
    auth.start()
    auth.configure_curve(domain="*", location=str(keys.clients_dir))
    for sock in sockets:
        sock.curve_secretkey = secret
        sock.curve_publickey = public
        sock.curve_server = True
    return auth
