"""The signup page at `/` of `mqlab serve` (issue 19): a form, the answer's code and the time
it took, then the job's state pushed over Server-Sent Events (`/signup/{id}/events`).

Three static files shipped in the package (`page/`: HTML, CSS, a little JavaScript; no build
step, nothing from the network), read once. What the page needs from the server is filled
in when the app starts, HTML-escaped into attributes of its `<html>` element: the mode (what
to expect from it), the EICAR test string in base64 (for the quarantine button: the
signature never appears in a file, so a virus scanner on a student's laptop leaves the
package alone) and the largest attachment the app takes.

Answered on the server's loop like the status routes (a file in memory needs no handler
thread); any other path goes on to `then` (the status routes), then to the app's handlers.
The headers forbid what the page never does: inline scripts, other origins, framing.
"""

from __future__ import annotations

import base64
import html
from importlib import resources
from typing import Any

from mqlab.job.scan import EICAR
from mqlab.job.signup import MAX_ATTACHMENT
from mqlab.processes.httpserver import OnLoop
from mqlab.processes.status_api import Respond

FILES = {  # path -> (file in page/, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),  # a new mqlab's page at the next load
]


def page_files(mode: str) -> dict[str, tuple[bytes, str]]:
    """path -> (body, content type), the HTML filled in for `mode`."""
    folder = resources.files("mqlab.processes").joinpath("page")
    fill = {
        "__MODE__": mode,
        "__EICAR__": base64.b64encode(EICAR).decode("ascii"),
        "__MAX_ATTACHMENT__": str(MAX_ATTACHMENT),
    }
    out: dict[str, tuple[bytes, str]] = {}
    for path, (name, kind) in FILES.items():
        text = folder.joinpath(name).read_text(encoding="utf-8")
        if name.endswith(".html"):
            for marker, value in fill.items():
                text = text.replace(marker, html.escape(value, quote=True))
        out[path] = (text.encode("utf-8"), kind)
    return out


class Page:
    """`page(method, path)`: the coroutine that answers, as `httpserver.OnLoop` wants."""

    def __init__(self, mode: str, then: OnLoop | None = None) -> None:
        self.mode, self.then = mode, then
        self.files = page_files(mode)

    def __call__(self, method: str, path: str) -> Respond | None:
        found = self.files.get("/" if path == "/index.html" else path)
        if found is None:
            return self.then(method, path) if self.then is not None else None
        if method not in ("GET", "HEAD"):
            body = b'{"error": "use GET"}'
            return _answer(405, body, "application/json", [(b"allow", b"GET, HEAD")])
        data, kind = found
        return _answer(200, data, kind, HEADERS, head=method == "HEAD")


def _answer(
    status: int,
    body: bytes,
    kind: str,
    extra: list[tuple[bytes, bytes]],
    *,
    head: bool = False,
) -> Respond:
    async def respond(receive: Any, send: Any) -> None:
        headers = [
            (b"content-type", kind.encode()),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    return respond
