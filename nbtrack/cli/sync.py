"""``nbtrack sync``: send what processes that died left for an ``nbtrack server``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nbtrack import config
from nbtrack.errors import InvalidValueError, ServerUnreachableError

DELIVERED = 0
UNREACHABLE = 1


def add_commands(commands: Any) -> None:
    sync = commands.add_parser(
        "sync",
        help="send to the server what dead processes logged here and could not deliver",
        description=(
            "A process logging to an nbtrack server (NBTRACK_URI=http://...) keeps its journal "
            "in .nbtrack-remote/ in the project's folder until the server holds every line. "
            "If it died first (kill -9, a crash, an exit while the server was away), this "
            "sends what it left, tells the server its runs still RUNNING were KILLED, and "
            "says what is left, and which files the server will not take (their run deleted or "
            "purged), kept under artifacts/gone/. Exit status 0: all delivered; 1: the server "
            "did not answer."
        ),
    )
    sync.add_argument(
        "--uri", metavar="URL", help="the server (default: NBTRACK_URI or set_tracking_uri)"
    )
    sync.set_defaults(handler=_sync)


def _sync(args: argparse.Namespace) -> int:
    # Imported when run: the rest of the command line never loads the HTTP client.
    from nbtrack.store.remote import artifacts
    from nbtrack.store.remote.connection import ServerConnection
    from nbtrack.store.remote.leftovers import delivered_journals, journal_folders, send_leftovers
    from nbtrack.store.remote.store import spool_folder_for

    if args.uri:
        config.set_tracking_uri(args.uri)
    target = config.resolve_target()
    if not isinstance(target, config.ServerAddress):
        raise InvalidValueError(
            f"nbtrack sync sends to a server, and this process logs to the file {target}: "
            "give --uri http://HOST:PORT or set NBTRACK_URI"
        )
    root = spool_folder_for(target) / "journals"
    waiting = len(journal_folders(root))
    print(f"nbtrack sync: {waiting} journal(s) in {root} for {target.url}", flush=True)
    connection = ServerConnection(target)

    def progress(journal: str, sent: int, runs: int) -> None:
        print(f"  {journal}: {sent} bytes sent, {runs} run(s)", flush=True)

    spool = root.parent / "artifacts"
    try:
        report = send_leftovers(connection, root, progress=progress)
        sent_all = artifacts.send_pending(connection, spool, delivered_journals(root, None))
    except ServerUnreachableError as exc:
        left = len(journal_folders(root))
        print(f"nbtrack sync: {exc}; {left} journal(s) left in {root}", flush=True)
        return UNREACHABLE
    finally:
        connection.close()
    _report_set_aside(artifacts.set_aside(spool), spool)
    if not sent_all:
        left = len(artifacts.pending(spool))
        print(f"nbtrack sync: {left} artifact(s) not taken yet, left in {spool}", flush=True)
        return UNREACHABLE
    print(
        f"nbtrack sync: delivered {report.journals} journal(s), {report.bytes} bytes, "
        f"{len(report.runs)} run(s); {report.live_journals} journal(s) of running processes "
        "left to them",
        flush=True,
    )
    return DELIVERED


def _report_set_aside(found: dict[str, list[Path]], spool: Path) -> None:
    """Files kept here because the server will not take them: never deleted, said each time."""
    for run_id, kept in found.items():
        run = f"run {run_id}" if run_id else "registered models"
        places = sorted({str(entry.parent) for entry in kept})
        print(
            f"nbtrack sync: {len(kept)} file(s) of {run} not taken by the server (its run "
            f"deleted or purged, or refused: reason.txt says), kept in {', '.join(places)}",
            flush=True,
        )
