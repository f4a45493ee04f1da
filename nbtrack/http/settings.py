"""Who may call a server, how much they may send and how slowly: checked once, at the start.

The rules:

- Bound to 127.0.0.1 (the default), ``::1`` or ``localhost``, no token is needed. On any
  other address, 127.0.0.2 and the rest of 127.0.0.0/8 included, a token is required
  (``--token`` or ``NBTRACK_SERVE_TOKEN``; clients send ``Authorization: Bearer TOKEN``)
  unless ``insecure`` is asked for. ``/ping`` and ``/health`` stay open without it (load
  balancers probe them; they tell nothing but "up").
- One Host header (none, or two, is a 400), which without its port must be the bound host,
  ``localhost``, ``127.0.0.1``, ``::1`` or one of ``allowed_hosts``: a web page that rebinds
  its own domain to 127.0.0.1 then cannot reach the server from a browser. Bound to every
  address (``0.0.0.0``, ``::``) the bound host names nothing a client would send, so without
  ``allowed_hosts`` any Host is accepted there, and the token is the protection.
- A request's headers must arrive within ``header_timeout`` seconds of its first byte, its
  body within ``body_timeout`` seconds of its headers, and at most ``max_connections``
  connections are served at once (see ``connections`` for what happens past each).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nbtrack.errors import InvalidValueError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_BODY = 10 * 1024 * 1024
# From a connection's first byte to the end of its headers: clients send them in one go.
DEFAULT_HEADER_TIMEOUT = 10.0
# From the headers to the end of the body: 10 MB (--max-body) at 3 Mbit/s.
DEFAULT_BODY_TIMEOUT = 30.0
# Fits the common open-file limit of 1024 with room to spare; lowered where the limit is less.
DEFAULT_MAX_CONNECTIONS = 512
MAX_TIMEOUT = 3600.0
# The bound hosts that go without a token, and the Host headers always accepted. Not all of
# 127.0.0.0/8: the waiver is kept as narrow as the rule users read, and whether another
# address is reached from elsewhere (a forwarded port, a tunnel) is more than can be checked.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
SIZE_FORMS = "10MB, 512KB, 1.5GB or a number of bytes such as 1048576 (KB = 1024 bytes)"
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?|b)?\s*", re.IGNORECASE)
_UNITS = {None: 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_HOST = re.compile(r"[a-z0-9_.\-:]+")
_TOKEN = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class Settings:
    """A server's checked options. ``allowed_hosts`` None: any Host header is accepted."""

    host: str
    token: str | None
    max_body: int
    allowed_hosts: frozenset[str] | None
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def check_settings(
    host: str,
    token: str | None,
    insecure: bool,
    max_body: int,
    allowed_hosts: Iterable[str] = (),
    *,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    command: str = "serve",
) -> Settings:
    """Validate a server's options, with the token rule of this module's docstring;
    ``command`` begins the error messages."""
    bound = bare_host(host) if isinstance(host, str) else None
    if bound is None or (bound and not _HOST.fullmatch(bound)):
        raise InvalidValueError(
            f"{command}: host {host!r} is not an address; give 127.0.0.1 (this machine only, the "
            "default), 0.0.0.0 (every address) or one address or name of this machine"
        )
    if token is not None and (not isinstance(token, str) or not _TOKEN.fullmatch(token)):
        raise InvalidValueError(
            f"{command}: the token must be printable ASCII without spaces (it travels in an "
            "Authorization header)"
        )
    if bound not in LOOPBACK_NAMES and token is None and not insecure:
        raise InvalidValueError(
            f"{command}: listening on {host} (reachable from other machines) needs a token: give "
            "--token TOKEN or set NBTRACK_SERVE_TOKEN (clients send 'Authorization: Bearer "
            "TOKEN'), or pass --insecure to serve without one"
        )
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
        raise InvalidValueError(
            f"{command}: max_body {max_body!r} is not accepted; give a number of bytes of at "
            "least 1"
        )
    for what, seconds in (("header_timeout", header_timeout), ("body_timeout", body_timeout)):
        if not _is_number(seconds) or not 0 < seconds <= MAX_TIMEOUT:
            raise InvalidValueError(
                f"{command}: {what} {seconds!r} is not accepted; give a number of seconds above 0 "
                f"and at most {MAX_TIMEOUT:g}"
            )
    if (
        isinstance(max_connections, bool)
        or not isinstance(max_connections, int)
        or (max_connections < 1)
    ):
        raise InvalidValueError(
            f"{command}: max_connections {max_connections!r} is not accepted; give a number of at "
            "least 1"
        )
    extra = frozenset(_allowed_host(name) for name in allowed_hosts)
    if bound in WILDCARDS and not extra:
        allowed = None
    else:
        allowed = LOOPBACK_NAMES | extra | ({bound} if bound not in WILDCARDS else set())
    return Settings(
        host=host,
        token=token,
        max_body=max_body,
        allowed_hosts=allowed,
        header_timeout=float(header_timeout),
        body_timeout=float(body_timeout),
        max_connections=max_connections,
    )


def bare_host(host: str) -> str:
    """A host without brackets or a trailing dot, lower-case: ``[::1]`` is ``::1``."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".") if host not in WILDCARDS else host


def host_header_name(value: str) -> str:
    """The host a Host header names, without its port (``[::1]:5001`` is ``::1``)."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    return bare_host(value)


def parse_size(text: str, what: str = "max body") -> int:
    """Bytes from ``10MB``, ``512KB``, ``1.5GB`` or ``1048576`` (units of 1024 bytes).

    Examples
    --------
    >>> parse_size("10MB")
    10485760
    """
    found = _SIZE.fullmatch(text) if isinstance(text, str) else None
    size = int(float(found[1]) * _UNITS[found[2] and found[2].lower()]) if found else 0
    if size < 1:
        raise InvalidValueError(f"{what} {text!r} is not a size; give {SIZE_FORMS}")
    return size


def parse_seconds(text: str, what: str) -> float:
    """Seconds from ``30`` or ``2.5``; the range is checked with the other options."""
    try:
        return float(text)
    except ValueError:
        raise InvalidValueError(
            f"{what} {text!r} is not a number of seconds; give one such as 30 or 2.5"
        ) from None


def parse_hosts(text: str | None) -> tuple[str, ...]:
    """Host names from a comma-separated list, each checked."""
    return tuple(_allowed_host(part) for part in (text or "").split(",") if part.strip())


def _is_number(value: object) -> bool:
    # NaN passes here and fails the range check that follows.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _allowed_host(name: str) -> str:
    host = bare_host(name) if isinstance(name, str) else ""
    # One colon is a port (an IPv6 address has several).
    if not host or host in WILDCARDS or not _HOST.fullmatch(host) or host.count(":") == 1:
        raise InvalidValueError(
            f"allowed host {name!r} is not a host name or address; give names such as "
            "models.example.com or 10.0.0.5, separated by commas, without ports"
        )
    return host
