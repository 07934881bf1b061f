"""CurveZMQ: loopback by default, keys required beyond it, unauthorised clients refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import zmq.auth

from middleware.client import AsyncClient, ClientCurve, ClientTimeout
from middleware.service.config import CurveKeys, ServiceConfig, is_loopback
from middleware.service.errors import ServiceConfigError
from tests.service_support import make_service


def _keys(tmp_path: Path) -> tuple[CurveKeys, ClientCurve, ClientCurve]:
    server_dir, clients_dir, strangers_dir = (tmp_path / n for n in ("server", "clients", "x"))
    for folder in (server_dir, clients_dir, strangers_dir):
        folder.mkdir()
    server_public_file, server_secret_file = zmq.auth.create_certificates(server_dir, "server")
    _, client_secret_file = zmq.auth.create_certificates(clients_dir, "game")
    _, stranger_secret_file = zmq.auth.create_certificates(strangers_dir, "stranger")
    server_public, _ = zmq.auth.load_certificate(server_public_file)
    game_public, game_secret = zmq.auth.load_certificate(client_secret_file)
    stranger_public, stranger_secret = zmq.auth.load_certificate(stranger_secret_file)
    Path(client_secret_file).unlink()  # the clients folder holds public keys only
    keys = CurveKeys(Path(server_secret_file), clients_dir)
    return (
        keys,
        ClientCurve(server_public, game_public, game_secret),
        ClientCurve(server_public, stranger_public, stranger_secret),
    )


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("tcp://127.0.0.1:5570", True),
        ("tcp://localhost:*", True),
        ("tcp://[::1]:5570", True),
        ("ipc:///tmp/ostinato.sock", True),
        ("tcp://0.0.0.0:5570", False),
        ("tcp://*:5570", False),
        ("tcp://192.168.1.20:5570", False),
    ],
)
def test_loopback_endpoints_are_recognised(endpoint: str, loopback: bool) -> None:
    assert is_loopback(endpoint) is loopback


def test_binding_beyond_loopback_without_keys_is_refused() -> None:
    with pytest.raises(ServiceConfigError) as failure:
        ServiceConfig(bind="tcp://0.0.0.0:5570")
    assert "CurveZMQ" in failure.value.message


def test_binding_beyond_loopback_with_keys_is_allowed(tmp_path: Path) -> None:
    keys, _, _ = _keys(tmp_path)
    assert ServiceConfig(bind="tcp://0.0.0.0:5570", curve=keys).curve == keys


async def test_authorised_client_is_served_over_curve(tmp_path: Path) -> None:
    keys, game, _ = _keys(tmp_path)
    async with (
        make_service(curve=keys) as service,
        AsyncClient(service.endpoint, curve=game, timeout_s=3.0) as client,
    ):
        hello = await client.hello(subscribe=False)
        assert "curve" in hello.capabilities
        assert (await client.ping("secure"))["t"] == "secure"


async def test_unauthorised_client_gets_no_reply(tmp_path: Path) -> None:
    keys, _, stranger = _keys(tmp_path)
    async with (
        make_service(curve=keys) as service,
        AsyncClient(service.endpoint, curve=stranger, timeout_s=1.0, reconnect=False) as client,
    ):
        with pytest.raises(ClientTimeout):
            await client.ping("let me in")
        assert len(service.sessions) == 0


async def test_plaintext_client_gets_no_reply_from_a_curve_service(tmp_path: Path) -> None:
    keys, _, _ = _keys(tmp_path)
    async with (
        make_service(curve=keys) as service,
        AsyncClient(service.endpoint, timeout_s=1.0, reconnect=False) as client,
    ):
        with pytest.raises(ClientTimeout):
            await client.ping("plain")
