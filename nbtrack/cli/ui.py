"""``nbtrack ui``: the web UI of the store, in the foreground."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nbtrack.cli.foreground import wait_until_stopped


def add_commands(commands: Any) -> None:
    ui = commands.add_parser(
        "ui",
        help="browse runs, their charts, code and artifacts, and the registry in a browser",
        description=(
            "Serve the web UI of the store nbtrack would use from this folder (--store or "
            "NBTRACK_URI): experiments, runs (filter, sort, columns), a run's curves, code, "
            "notebook and artifacts, comparisons, and the registry with promote. It reads the "
            "store only when its marker file changes and never holds it between requests."
        ),
        epilog=(
            "Safety: on 127.0.0.1 (the default), ::1 or localhost no token is needed. On any "
            "other address a token is required (--token or NBTRACK_SERVE_TOKEN; open the printed "
            "URL, which carries it once, or send 'Authorization: Bearer TOKEN') unless "
            "--insecure. The Host header must name this server or an --allowed-hosts name; "
            "changes (promote, aliases) must come from the UI's own pages or carry the token."
        ),
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    ui.add_argument("--port", type=int, default=5000, help="port (5000; 0: a free one)")
    ui.add_argument("--token", help="require this token (default: NBTRACK_SERVE_TOKEN)")
    ui.add_argument("--insecure", action="store_true", help="serve off loopback without a token")
    ui.add_argument(
        "--allowed-hosts",
        metavar="H1,H2",
        help="more host names clients may use in the Host header (e.g. runs.example.com)",
    )
    ui.add_argument("--open", action="store_true", help="open the UI in a browser")
    ui.set_defaults(handler=serve_ui)


def serve_ui(args: argparse.Namespace) -> int:

    from nbtrack.http.settings import parse_hosts
    from nbtrack.store.current import current_store
    from nbtrack.web.background import ui

    running = ui(
        args.port,
        host=args.host,
        token=args.token,
        insecure=args.insecure,
        allowed_hosts=parse_hosts(args.allowed_hosts),
        open_browser=args.open,
    )
    print(f"nbtrack ui for {current_store().path} at {running.url}  (Ctrl-C to stop)", flush=True)
    if wait_until_stopped(running, "the UI"):
        return 1
    print("stopped", file=sys.stderr)
    return 0
