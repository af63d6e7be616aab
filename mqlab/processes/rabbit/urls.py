"""AMQP URLs: the default, the variable that overrides it, and how a URL is shown.

Why a module of its own: every part of mqlab that names a broker (status lines,
error messages, result files) shows its URL through `mask_url`, so a password never
reaches a terminal, a log or a JSON file. Which URL mqlab *uses* is decided in
`state.resolve_url`, because a node recorded by `mqlab broker up` takes part in it.

A URL may be a list: the nodes of one cluster, comma-separated
(`amqp://...:5681/%2F,amqp://...:5682/%2F`); mqlab connects to the first that answers
(`split_urls`). Every function here takes such a list as well as one URL.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"
ENV_VAR = "MQLAB_AMQP_URL"
LOCALHOST = "127.0.0.1"
DEFAULT_PASSWORD = "guest"  # RabbitMQ's built-in user, which may log in from localhost only


# A new URL of a list begins after a comma that is followed by a scheme.
_NEXT_URL = re.compile(r",(?=amqps?://)")


def split_urls(text: str) -> list[str]:
    """The URLs of a comma-separated list (a single URL gives a list of one).

    A comma starts a new URL only where `amqp://` or `amqps://` follows it, so a comma
    inside one URL (a query string) does not split it."""
    return [part.strip() for part in _NEXT_URL.split(text) if part.strip()] or [text]


def mask_url(url: str) -> str:
    """`url` with the password replaced by ****, e.g. amqp://guest:****@localhost:5672/%2F.

    URLs without a password come back unchanged. The user info is taken to end at
    the *last* '@' of the URL, so a password with unencoded '@', '/', '?', '#' or
    ':' is still hidden completely (an '@' in the path or query only makes the mask
    hide more than needed, never less). A list is masked URL by URL, but only if
    its URLs are alike (each with one '@' and a password, or none with an '@'):
    otherwise the comma may be part of a password, and the whole text is masked as
    one URL, which hides everything up to its last '@'.
    """
    parts = split_urls(url)
    if len(parts) > 1 and _alike(parts):
        return ",".join(_mask_one(part) for part in parts)
    return _mask_one(url)


def _alike(parts: list[str]) -> bool:
    """Each URL with one '@' and a password before it, or no URL with an '@' at all."""

    def has_password(part: str) -> bool:
        userinfo = (part.partition("://")[2] or part).partition("@")[0]
        return part.count("@") == 1 and ":" in userinfo

    return all(map(has_password, parts)) or not any("@" in part for part in parts)


def _mask_one(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, hostpart = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    prefix = f"{scheme}://" if sep else ""
    return f"{prefix}{user}:****@{hostpart}"


def holds_a_secret(url: str) -> bool:
    """True if `url` carries a password other than RabbitMQ's default `guest`.

    Read like `mask_url` (user info up to the last '@'), so a URL this calls harmless
    is one `mask_url` would show with nothing but "guest" hidden. A list holds a secret
    if any of its URLs does, or if `mask_url` would mask it as one URL.
    """
    parts = split_urls(url)
    if len(parts) > 1:
        return not _alike(parts) or any(_holds_one(part) for part in parts)
    return _holds_one(url)


def _holds_one(url: str) -> bool:
    rest = url.partition("://")[2] or url
    userinfo, at, _ = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return False
    return userinfo.split(":", 1)[1] != DEFAULT_PASSWORD


def endpoint(url: str) -> tuple[str, int]:
    """(host, port) of `url` (of a list: its first URL), localhost spelled 127.0.0.1: two
    URLs of one broker compare equal."""
    first = split_urls(url)[0]
    parts = urlsplit(first if "://" in first else f"amqp://{first}")
    host = parts.hostname or "localhost"
    if host in ("localhost", "::1"):
        host = LOCALHOST
    try:
        port = parts.port or 5672
    except ValueError:
        port = 5672
    return host, port
