"""``nbtrack serve MODEL``: a model over MLflow's scoring protocol, in the foreground."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nbtrack.cli.foreground import wait_until_stopped


def add_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve a model over MLflow's scoring protocol (POST /invocations)",
        description=(
            "Serve MODEL over MLflow's scoring protocol: POST /invocations; GET /ping, /health, "
            "/version, /metadata. A served alias (NAME, NAME@ALIAS, models:/NAME@ALIAS) or "
            "models:/NAME/latest is followed: promoting another version switches the server "
            "without a restart."
        ),
        epilog=(
            "Safety: on 127.0.0.1 (the default), ::1 or localhost no token is needed. On any "
            "other address, 127.0.0.2 included, a token is required (clients send "
            "'Authorization: Bearer TOKEN'; /ping and /health stay open) unless --insecure. "
            "A request with two Host headers gets 400, one whose Host is not the bound host, "
            "localhost, 127.0.0.1, ::1 or an --allowed-hosts name 403; bound to 0.0.0.0 "
            "without --allowed-hosts, any Host is accepted and the token is the protection."
        ),
    )
    serve.add_argument(
        "model",
        metavar="MODEL",
        help="NAME (= models:/NAME@champion), NAME@ALIAS, a model URI (models:/NAME/3, "
        "runs:/RUN_ID/model) or a model folder",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=5001, help="port (5001; 0: a free one)")
    serve.add_argument(
        "--token", help="require 'Authorization: Bearer TOKEN' (default: NBTRACK_SERVE_TOKEN)"
    )
    serve.add_argument("--insecure", action="store_true", help="serve off loopback without a token")
    serve.add_argument(
        "--max-body",
        default="10MB",
        metavar="SIZE",
        help="largest request body (10MB, 512KB or bytes)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=512,
        metavar="N",
        help="requests answered at once (512); more get 503, while /ping and /health answer",
    )
    serve.add_argument(
        "--header-timeout",
        default="10",
        metavar="SECONDS",
        help="time for a request's headers to arrive, from its first byte (10); then 408",
    )
    serve.add_argument(
        "--body-timeout",
        default="30",
        metavar="SECONDS",
        help="time for a request's body to arrive, from its headers (30); then 408",
    )
    serve.add_argument(
        "--allowed-hosts",
        metavar="H1,H2",
        help="more host names clients may use in the Host header (e.g. models.example.com)",
    )
    serve.set_defaults(handler=serve_model)


def serve_model(args: argparse.Namespace) -> int:
    import logging

    from nbtrack.http.settings import parse_hosts, parse_seconds, parse_size
    from nbtrack.serving.background import serve

    max_body = parse_size(args.max_body, "--max-body")
    allowed_hosts = parse_hosts(args.allowed_hosts)
    header_timeout = parse_seconds(args.header_timeout, "--header-timeout")
    body_timeout = parse_seconds(args.body_timeout, "--body-timeout")
    # Access-log lines and swap notices on stderr; stdout keeps the one "serving" line.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger = logging.getLogger("nbtrack.serve")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    server = serve(
        args.model,
        port=args.port,
        host=args.host,
        token=args.token,
        insecure=args.insecure,
        max_body=max_body,
        allowed_hosts=allowed_hosts,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=args.max_connections,
    )
    served = server.served
    what = (
        f"{served.name} version {served.version}"
        + (f" (following {served.metadata['follows']})" if served.metadata["follows"] else "")
        if served.name is not None
        else served.uri
    )
    print(f"serving {what} at {server.url}  (Ctrl-C to stop)", flush=True)
    if wait_until_stopped(server, "the server"):
        return 1
    print("stopped", file=sys.stderr)
    return 0
