"""``nbtrack server``: MLflow's REST API on the store, in the foreground."""

from __future__ import annotations

import argparse
from typing import Any

from nbtrack.cli.foreground import wait_until_stopped


def add_commands(commands: Any) -> None:
    server = commands.add_parser(
        "server",
        help="MLflow's tracking server on this store: MLflow's clients log into nbtrack",
        description=(
            "Answer MLflow's REST API (/api/2.0/mlflow/..., the mlflow-artifacts proxy, the "
            "model registry) on the store: set MLFLOW_TRACKING_URI=http://HOST:PORT and "
            "MLflow's client, its autologging and its integrations log into nbtrack."
        ),
        epilog=(
            "Safety: on 127.0.0.1 (the default) no token is needed. On any other address a "
            "token is required: clients send 'Authorization: Bearer TOKEN' "
            "(MLFLOW_TRACKING_TOKEN) or the token as MLFLOW_TRACKING_PASSWORD. A Host header "
            "that is not the bound host, localhost, 127.0.0.1, ::1 or an --allowed-hosts name "
            "gets 403."
        ),
    )
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    server.add_argument("--port", type=int, default=5000, help="port (5000; 0: a free one)")
    server.add_argument(
        "--token", help="require this token off loopback (default: NBTRACK_SERVE_TOKEN)"
    )
    server.add_argument(
        "--store",
        dest="server_store",
        metavar="PATH",
        help="the .duckdb store (default: nbtrack --store, NBTRACK_URI, else discovery)",
    )
    server.add_argument(
        "--allowed-hosts", metavar="H1,H2", help="more host names clients may use in Host"
    )
    server.add_argument(
        "--max-artifact-size",
        default="2GB",
        metavar="SIZE",
        help="largest artifact file uploaded through the server (2GB)",
    )
    server.add_argument(
        "--artifacts-destination",
        metavar="URL",
        help="where artifacts are kept: a folder or an fsspec URL such as s3://bucket/prefix "
        "(AWS_* settings from the environment; clients then write there directly). Default: "
        "nbtrack-artifacts/ beside the store",
    )
    server.add_argument(
        "--sql-max-rows",
        type=int,
        default=1_000_000,
        metavar="N",
        help="most rows one nbtrack.sql() query answers a client (1000000); more is an error",
    )
    server.add_argument(
        "--sql-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="longest one nbtrack.sql() query of a client may run (50)",
    )
    server.add_argument(
        "--silent-client-days",
        type=float,
        default=14.0,
        metavar="DAYS",
        help="a client silent this long is taken for dead: its runs still RUNNING end KILLED "
        "and its copy of the journal is removed once in the store (14)",
    )
    server.set_defaults(handler=run_server)


def run_server(args: argparse.Namespace) -> int:

    from nbtrack import config
    from nbtrack.http.settings import parse_hosts, parse_size
    from nbtrack.web.server import silent_client_seconds, start
    from nbtrack.web.store_api.sql import sql_limits

    if args.server_store:
        config.set_tracking_uri(args.server_store)
    server = start(
        args.port,
        host=args.host,
        token=args.token if args.token is not None else config.serve_token(),
        allowed_hosts=parse_hosts(args.allowed_hosts),
        max_artifact_size=parse_size(args.max_artifact_size, "--max-artifact-size"),
        artifacts_destination=args.artifacts_destination,
        sql_limits=sql_limits(args.sql_max_rows, args.sql_timeout),
        silent_client_s=silent_client_seconds(args.silent_client_days),
    )
    print(
        f"nbtrack server for {config.resolve_store_path()} at {server.url}  (Ctrl-C to stop)",
        flush=True,
    )
    return wait_until_stopped(server, "the server")
