"""AMQP URLs: the default, the variable that overrides it, and how a URL is shown.

Why a module of its own: every part of mqlab that names a broker (status lines,
error messages, result files) shows its URL through `mask_url`, so a password never
reaches a terminal, a log or a JSON file. Which URL mqlab *uses* is decided in
`state.resolve_url`, because a node recorded by `mqlab broker up` takes part in it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"
ENV_VAR = "MQLAB_AMQP_URL"
LOCALHOST = "127.0.0.1"
DEFAULT_PASSWORD = "guest"  # RabbitMQ's built-in user, which may log in from localhost only


def mask_url(url: str) -> str:
    """`url` with the password replaced by ****, e.g. amqp://guest:****@localhost:5672/%2F.

    URLs without a password come back unchanged. The user info is taken to end at
    the *last* '@' of the URL, so a password with unencoded '@', '/', '?', '#' or
    ':' is still hidden completely (an '@' in the path or query only makes the mask
    hide more than needed, never less).
    """
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
    is one `mask_url` would show with nothing but "guest" hidden.
    """
    rest = url.partition("://")[2] or url
    userinfo, at, _ = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return False
    return userinfo.split(":", 1)[1] != DEFAULT_PASSWORD


def endpoint(url: str) -> tuple[str, int]:
    """(host, port) of `url`, localhost spelled 127.0.0.1: two URLs of one broker compare equal."""
    parts = urlsplit(url if "://" in url else f"amqp://{url}")
    host = parts.hostname or "localhost"
    if host in ("localhost", "::1"):
        host = LOCALHOST
    try:
        port = parts.port or 5672
    except ValueError:
        port = 5672
    return host, port
