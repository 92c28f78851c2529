"""Serving the review: the bind rule, the socket, uvicorn.

Loopback (127.0.0.1, ::1, localhost) by default. Any other address would show the album to
the network, so it is refused unless a token is given; then every request must carry it.
The socket is bound here, before uvicorn starts, so a port in use is one clear line and
``--port 0`` names the port it got. uvicorn's access log is off: it would write query
strings (a ``?token=``) to the terminal; requests are logged here without them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable

from picme.errors import InputError
from picme.review.config import ReviewConfig
from picme.review.export import ExportHook
from picme.review.session import ReviewSession

log = logging.getLogger(__name__)
MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(config: ReviewConfig) -> None:
    """Refuse a non-loopback address without a token, and a token too short to guard."""
    if not 0 <= config.port <= 65535:
        raise InputError(f"--port {config.port} is not a port: give 1-65535, or 0 for any free one")
    if config.token is not None and len(config.token) < MIN_TOKEN:
        raise InputError(
            f"--token is too short: give at least {MIN_TOKEN} random characters "
            "(e.g. from `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    if not is_loopback(config.host) and config.token is None:
        raise InputError(
            f"--host {config.host} would show the album to the network: give --token SECRET "
            "too (every request must then carry it), or leave --host at 127.0.0.1"
        )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot serve on {host}:{port} ({exc.strerror}): the port is probably in use; "
            "give another --port, or --port 0 for any free one"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(host: str, port: int) -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    return f"http://{shown}:{port}/"


def serve(
    session: ReviewSession,
    config: ReviewConfig,
    *,
    xmp: ExportHook | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn shuts down cleanly, then re-raises it)."""
    import uvicorn

    from picme.review.server import LOOPBACK_NAMES, create_app

    check_bind(config)
    sock = bind(config.host, config.port)
    port = sock.getsockname()[1]
    loopback = is_loopback(config.host)
    app = create_app(
        session,
        token=config.token,
        allowed_hosts=LOOPBACK_NAMES if loopback else None,
        xmp=xmp,
    )
    n = sum(e.get("status") != "skipped" for e in session.files)
    announce(f"reviewing {n} photos of {session.album} at {url_of(config.host, port)}")
    if config.token:
        announce("  open it once with ?token=YOUR_TOKEN (or send Authorization: Bearer)")
    announce("  keys: arrows move, k keep, x reject, s star, p pick in group, u undo; Ctrl-C stops")
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws="none")
    )
    with contextlib.closing(sock):
        server.run(sockets=[sock])
