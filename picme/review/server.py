"""The review application (Starlette): the page, the photos, and a small JSON API.

Routes: ``GET /`` the page (rendered from the decisions stored in the table, so reopening
shows them); ``GET /thumb/{path}`` and ``GET /photo/{path}`` images (only files the
curation lists, only from inside its output folder or the album); ``GET /api/state``;
``POST /api/decide`` ``{"path", "decision"}`` (stored before the answer); ``POST
/api/export``.

Guards, in front of every route (:class:`Guard`): the Host header must name this server
(a page elsewhere cannot reach it through DNS rebinding); with a token, every request
carries it (``Authorization: Bearer``, ``X-PicMe-Token``, or the cookie set when the page
is first opened with ``?token=``), compared in constant time, never echoed, logged or put
in the page; a POST must be JSON from the page's own origin. Responses carry a strict
Content-Security-Policy (no inline script), and JSON escapes ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
from dataclasses import asdict
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2
import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from picme.curate.explain import score_100
from picme.errors import InputError
from picme.review.decisions import Applied, Final
from picme.review.export import ExportHook, export_review
from picme.review.session import NotServable, ReviewSession

log = logging.getLogger(__name__)

COOKIE = "picme_review_token"
STATIC = {"review.js": "text/javascript", "review.css": "text/css"}
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; img-src 'self'; script-src 'self'; style-src 'self'; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


class SafeJSON(JSONResponse):
    """JSON with ``<``, ``>`` and ``&`` as \\u escapes: a file name can never read as markup."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
            text = text.replace(ch, esc)
        return text.encode("utf-8")


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """Host, token and origin checks plus security headers, around the whole app."""

    def __init__(self, app: ASGIApp, token: str | None, allowed_hosts: frozenset[str] | None):
        self.app = app
        self.token = token.encode() if token else None
        self.allowed_hosts = allowed_hosts

    def _token_ok(self, given: str | None) -> bool:
        if self.token is None:
            return True
        return given is not None and hmac.compare_digest(given.encode(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = self._refusal(request)

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        if refused is not None:
            await refused(scope, receive, send_secure)
            return
        query_token = parse_qs(request.url.query).get("token", [None])[0]
        if self.token is not None and query_token is not None and request.method == "GET":
            # Set the cookie and drop the token from the address bar and the history.
            # One leading slash: "//host/..." would send the browser to another site.
            here = "/" + request.url.path.lstrip("/")
            response = Response(status_code=303, headers={"location": here})
            response.set_cookie(COOKIE, query_token, httponly=True, samesite="strict")
            await response(scope, receive, send_secure)
            return
        await self.app(scope, receive, send_secure)

    def _refusal(self, request: Request) -> Response | None:
        host = _host_name(request.headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return Response("this server answers only to its own address\n", 400)
        if not self._token_ok(_token_of(request)):
            return Response("a valid token is required\n", 401)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
                return Response("cross-origin requests are refused\n", 403)
            if request.headers.get("content-type", "").split(";")[0] != "application/json":
                return Response("send JSON\n", 415)
        return None


def _token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return (
        request.headers.get("x-picme-token")
        or request.cookies.get(COOKIE)
        or parse_qs(request.url.query).get("token", [None])[0]
    )


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("picme.review", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _percentiles(entries: list[Final]) -> dict[str, int]:
    """Score as 0-100 within the album: the contact sheet's scale (the share of photos it
    beats; ties split)."""
    scored = [e for e in entries if e.score is not None]
    values = score_100(np.array([e.score for e in scored], np.float64))
    return {e.path: int(v) for e, v in zip(scored, values, strict=True)}


def _card_order(session: ReviewSession, applied: Applied) -> list[Final]:
    """picme's picks by rank, then the rest group by group, best score first; stable while
    the person decides (cards never jump under the cursor)."""
    entries = [e for e in applied.entries if e.status != "skipped"]
    rank = {p: r for r, p in enumerate(session.doc.get("picks", []))}

    def key(e: Final) -> tuple[int, float, int, float, str]:
        return (
            0 if e.path in rank else 1,
            rank.get(e.path, 0),
            e.group or 0,
            -(e.score if e.score is not None else float("-inf")),
            e.path,
        )

    return sorted(entries, key=key)


def render_page(session: ReviewSession, applied: Applied) -> str:
    entries = _card_order(session, applied)
    return (
        _environment()
        .get_template("review.html")
        .render(
            album_name=session.album_name,
            doc=session.doc,
            entries=entries,
            source={p: session.entries[p] for p in (e.path for e in entries)},
            captions=session.captions,
            percent=_percentiles(applied.entries),
            counts=applied.counts(),
            n_picks=len(applied.picks),
            n_skipped=sum(e.status == "skipped" for e in applied.entries),
        )
    )


def _state(entry: Final) -> dict[str, Any]:
    return asdict(entry)


class Endpoints:
    """The routes of one review; ``last`` is the state each photo was last reported in, so
    a decision answers with what changed (the photo, its group's former pick, the ranks)."""

    def __init__(self, session: ReviewSession, xmp: ExportHook | None) -> None:
        self.session = session
        self.xmp = xmp
        self.last: dict[str, dict[str, Any]] = {}

    def snapshot(self) -> Applied:
        with self.session.lock:
            applied = self.session.applied()
            self.last = {e.path: _state(e) for e in applied.entries}
        return applied

    async def page(self, request: Request) -> Response:
        applied = await run_in_threadpool(self.snapshot)
        return HTMLResponse(render_page(self.session, applied))

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found\n", 404)
        body = resources.files("picme.review").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC[name])

    async def thumb(self, request: Request) -> Response:
        try:
            return FileResponse(self.session.thumb_path(request.path_params["path"]))
        except NotServable:
            return Response("not found\n", 404)

    async def photo(self, request: Request) -> Response:
        try:
            return FileResponse(self.session.photo_path(request.path_params["path"]))
        except NotServable:
            return Response("not found\n", 404)

    async def state(self, request: Request) -> Response:
        applied = await run_in_threadpool(self.snapshot)
        return SafeJSON(_payload(applied, applied.entries))

    def decide_now(self, path: str, decision: str) -> dict[str, Any]:
        stored = self.session.decide(path, decision)
        with self.session.lock:
            applied = self.session.applied()
            changed = [e for e in applied.entries if self.last.get(e.path) != _state(e)]
            ours = next(e for e in applied.entries if e.path == path)
            if ours not in changed:
                changed.append(ours)
            self.last.update({e.path: _state(e) for e in changed})
        log.info("%s: %s (stored)", decision, path)
        when = stored.decided_at.isoformat()
        return {**_payload(applied, changed), "stored": {**asdict(stored), "decided_at": when}}

    async def decide(self, request: Request) -> Response:
        try:
            body = await request.json()
            path, decision = str(body["path"]), str(body["decision"])
        except (ValueError, KeyError, TypeError):
            return SafeJSON({"error": 'send {"path": ..., "decision": ...}'}, 400)
        try:
            result = await run_in_threadpool(self.decide_now, path, decision)
        except NotServable:
            return SafeJSON({"error": "no such photo in this curation"}, 404)
        except InputError as exc:
            return SafeJSON({"error": str(exc)}, 400)
        except OSError as exc:
            return _os_failure("store the decision", exc)
        return SafeJSON(result)

    async def export(self, request: Request) -> Response:
        try:
            done = await run_in_threadpool(export_review, self.session, None, xmp=self.xmp)
        except InputError as exc:
            return SafeJSON({"error": str(exc)}, 400)
        except OSError as exc:
            return _os_failure("write the export", exc)
        log.info("%s", done.summary())
        return SafeJSON({"folder": str(done.folder), "picks": done.picks, "counts": done.counts})


def create_app(
    session: ReviewSession,
    *,
    token: str | None = None,
    allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES,
    xmp: ExportHook | None = None,
) -> ASGIApp:
    """The review application of ``session``; ``allowed_hosts`` None accepts any Host (a
    non-loopback bind, where the token guards)."""
    ep = Endpoints(session, xmp)
    routes = [
        Route("/", ep.page),
        Route("/static/{name}", ep.static),
        Route("/thumb/{path:path}", ep.thumb),
        Route("/photo/{path:path}", ep.photo),
        Route("/api/state", ep.state),
        Route("/api/decide", ep.decide, methods=["POST"]),
        Route("/api/export", ep.export, methods=["POST"]),
    ]
    return Guard(Starlette(routes=routes), token, allowed_hosts)


def _os_failure(what: str, exc: OSError) -> Response:
    """A full disk or an unwritable folder: one line for the terminal and the page, not a
    traceback and a bare 500 (the table and the export are written atomically, so nothing
    half-written stays)."""
    where = f" ({exc.filename})" if exc.filename else ""
    line = f"cannot {what}: {exc.strerror or exc}{where}; nothing half-written was kept"
    log.error("%s", line)
    return SafeJSON({"error": line}, 500)


def _payload(applied: Applied, entries: list[Final]) -> dict[str, Any]:
    return {
        "counts": applied.counts(),
        "picks": applied.picks,
        "entries": [_state(e) for e in entries],
    }
