"""Who may call a server, and how much they may send: checked once, before it starts.

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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nbtrack.errors import InvalidValueError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_BODY = 10 * 1024 * 1024
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


def check_settings(
    host: str,
    token: str | None,
    insecure: bool,
    max_body: int,
    allowed_hosts: Iterable[str] = (),
) -> Settings:
    """Validate a server's options, with the token rule of this module's docstring."""
    bound = bare_host(host) if isinstance(host, str) else None
    if bound is None or (bound and not _HOST.fullmatch(bound)):
        raise InvalidValueError(
            f"serve: host {host!r} is not an address; give 127.0.0.1 (this machine only, the "
            "default), 0.0.0.0 (every address) or one address or name of this machine"
        )
    if token is not None and (not isinstance(token, str) or not _TOKEN.fullmatch(token)):
        raise InvalidValueError(
            "serve: the token must be printable ASCII without spaces (it travels in an "
            "Authorization header)"
        )
    if bound not in LOOPBACK_NAMES and token is None and not insecure:
        raise InvalidValueError(
            f"serve: listening on {host} (reachable from other machines) needs a token: give "
            "--token TOKEN or set NBTRACK_SERVE_TOKEN (clients send 'Authorization: Bearer "
            "TOKEN'), or pass --insecure to serve without one"
        )
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
        raise InvalidValueError(
            f"serve: max_body {max_body!r} is not accepted; give a number of bytes of at least 1"
        )
    extra = frozenset(_allowed_host(name) for name in allowed_hosts)
    if bound in WILDCARDS and not extra:
        allowed = None
    else:
        allowed = LOOPBACK_NAMES | extra | ({bound} if bound not in WILDCARDS else set())
    return Settings(host=host, token=token, max_body=max_body, allowed_hosts=allowed)


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


def parse_hosts(text: str | None) -> tuple[str, ...]:
    """Host names from a comma-separated list, each checked."""
    return tuple(_allowed_host(part) for part in (text or "").split(",") if part.strip())


def _allowed_host(name: str) -> str:
    host = bare_host(name) if isinstance(name, str) else ""
    # One colon is a port (an IPv6 address has several).
    if not host or host in WILDCARDS or not _HOST.fullmatch(host) or host.count(":") == 1:
        raise InvalidValueError(
            f"allowed host {name!r} is not a host name or address; give names such as "
            "models.example.com or 10.0.0.5, separated by commas, without ports"
        )
    return host
