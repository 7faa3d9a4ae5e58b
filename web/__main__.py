"""``python -m gaai.web [--host H] [--port P]``: run the web gateway and dashboard against ``NATS_URL``.

On a loopback address by default; any other address needs ``GAAI_WEB_TOKEN`` (the gateway refuses to start
without it). ``GAAI_WEB_HOST``, ``GAAI_WEB_PORT`` and ``GAAI_WEB_MAX_UPLOAD_MB`` set the defaults of the flags.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import socket
import sys

from aiohttp import web

from gaai.bus.connection import Bus
from gaai.bus.errors import GaaiError
from gaai.bus.process import process_settings, run_process
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from gaai.web.app import DEFAULT_MAX_UPLOAD_BYTES, GatewayConfig, create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def gateway_config(host: str, settings: Settings, token: str | None, limit_mb: str | None) -> GatewayConfig:
    """The gateway's token (``GAAI_WEB_TOKEN``) and upload limit (``GAAI_WEB_MAX_UPLOAD_MB``), checked.

    Raises:
        GaaiError: ``bad_setting`` for a non-loopback address without a token, or a bad upload limit.
    """
    if token is None and not is_loopback(host):
        raise GaaiError(
            "bad_setting",
            f"refusing to listen on {host} without GAAI_WEB_TOKEN: set a token (clients send it as "
            "'Authorization: Bearer <token>') or listen on 127.0.0.1",
        )
    if limit_mb is not None and (not limit_mb.isdigit() or int(limit_mb) < 1):
        raise GaaiError("bad_setting", f"GAAI_WEB_MAX_UPLOAD_MB must be a whole number of MiB >= 1, got {limit_mb!r}")
    max_upload = int(limit_mb) * 1024 * 1024 if limit_mb else DEFAULT_MAX_UPLOAD_BYTES
    return GatewayConfig(token=token, max_upload_bytes=max_upload, request_timeout_s=settings.request_timeout_s)


async def serve(settings: Settings, config: GatewayConfig, host: str, port: int, stop: asyncio.Event) -> None:
    bus = await Bus.connect(settings, name="gaai-web")
    # Open event streams end with the process: they are cancelled after this grace period.
    runner = web.AppRunner(create_app(bus, EmbeddedStore(settings.home), config), access_log=None, shutdown_timeout=2.0)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise GaaiError("bad_setting", f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = runner.addresses[0][1] if runner.addresses else port
        shown = f"[{host}]" if ":" in host else host
        print(f"gaai web: dashboard at http://{shown}:{bound}/", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
        await bus.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gaai.web", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GAAI_WEB_HOST", DEFAULT_HOST))
    parser.add_argument("--port", type=int, default=None, help=f"default $GAAI_WEB_PORT or {DEFAULT_PORT}; 0 picks one")
    args = parser.parse_args(argv)
    settings = process_settings("gaai-web")
    try:
        port = args.port if args.port is not None else int(os.environ.get("GAAI_WEB_PORT", DEFAULT_PORT))
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        given = args.port if args.port is not None else os.environ.get("GAAI_WEB_PORT")
        print(f"gaai-web: the port (--port or GAAI_WEB_PORT) must be 0 to 65535, got {given!r}", file=sys.stderr)
        sys.exit(2)
    try:
        token, limit_mb = os.environ.get("GAAI_WEB_TOKEN") or None, os.environ.get("GAAI_WEB_MAX_UPLOAD_MB")
        config = gateway_config(args.host, settings, token, limit_mb)
    except GaaiError as exc:
        print(f"gaai-web: {exc}", file=sys.stderr)
        sys.exit(2)

    async def until(stop: asyncio.Event) -> None:
        await serve(settings, config, args.host, port, stop)

    run_process("gaai-web", f"{socket.gethostname()}:{os.getpid()}", until)


if __name__ == "__main__":
    main()
