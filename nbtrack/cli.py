"""The ``nbtrack`` command: thin, every subcommand calls the layers below.

Readable tables by default, ``--json`` for scripts; errors are one line on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack import config
from nbtrack._version import __version__
from nbtrack.errors import NbtrackError

if TYPE_CHECKING:
    import pandas as pd


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbtrack", description="Experiment tracking on one local DuckDB file."
    )
    parser.add_argument("--version", action="version", version=f"nbtrack {__version__}")
    parser.add_argument(
        "--store", metavar="PATH", help="the .duckdb store (default: NBTRACK_URI, else discovery)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    experiments = commands.add_parser("experiments", help="create, list, delete experiments")
    exp_commands = experiments.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = exp_commands.add_parser("create", help="create an experiment")
    create.add_argument("--experiment-name", "-n", required=True)
    listing = exp_commands.add_parser("list", help="list experiments")
    listing.add_argument("--all", action="store_true", help="include deleted experiments")
    _json_flag(listing)
    for action in ("delete", "restore"):
        one = exp_commands.add_parser(action, help=f"{action} an experiment")
        one.add_argument("--experiment-name", "-n", required=True)

    runs = commands.add_parser("runs", help="list, show, rename, delete runs")
    run_commands = runs.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = run_commands.add_parser("list", help="list the runs of an experiment")
    listing.add_argument("--experiment-name", "-n", help="default: Default")
    listing.add_argument("--filter", "-f", help="e.g. \"metrics.acc > 0.9 and params.lr = '0.1'\"")
    listing.add_argument("--order-by", "-o", action="append", help='e.g. "metrics.acc DESC"')
    listing.add_argument("--max-results", type=int)
    listing.add_argument("--all", action="store_true", help="include deleted runs")
    _json_flag(listing)
    show = run_commands.add_parser("show", help="everything about one run")
    show.add_argument("run_id")
    _json_flag(show)
    rename = run_commands.add_parser("rename", help="give a run another name")
    rename.add_argument("run_id")
    rename.add_argument("name")
    for action in ("delete", "restore"):
        run_commands.add_parser(action, help=f"{action} a run").add_argument("run_id")

    models = commands.add_parser("models", help="registered models, versions and aliases")
    model_commands = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    _json_flag(model_commands.add_parser("list", help="registered models and their aliases"))
    versions = model_commands.add_parser("versions", help="the versions of a model")
    versions.add_argument("name")
    _json_flag(versions)
    promote = model_commands.add_parser("promote", help="point an alias at a version")
    promote.add_argument("name")
    promote.add_argument("version")
    promote.add_argument("--alias", default="champion")
    history = model_commands.add_parser("history", help="every alias move of a model")
    history.add_argument("name")
    _json_flag(history)

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
            "Safety: on 127.0.0.1 (the default) no token is needed. On any other address a "
            "token is required (clients send 'Authorization: Bearer TOKEN'; /ping and /health "
            "stay open) unless --insecure. Requests whose Host header is not the bound host, "
            "localhost, 127.0.0.1, ::1 or an --allowed-hosts name get 403; bound to 0.0.0.0 "
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
        "--allowed-hosts",
        metavar="H1,H2",
        help="more host names clients may use in the Host header (e.g. models.example.com)",
    )

    commands.add_parser("gc", help="purge deleted runs and experiments with their artifacts")
    export = commands.add_parser("export", help="write every table as Parquet into DIR")
    export.add_argument("dir")
    commands.add_parser("demo", help="log a small learning-rate sweep and print it")
    commands.add_parser("doctor", help="check the store, ingest leftover journals, end stuck runs")
    return parser


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.store:
        config.set_tracking_uri(args.store)
    handler = _HANDLERS[
        args.command if args.command not in _NESTED else f"{args.command} {args.action}"
    ]
    try:
        return handler(args)
    except NbtrackError as exc:
        print(f"nbtrack: {exc}", file=sys.stderr)
        return 1


# -- experiments --------------------------------------------------------------------------------


def _experiments_create(args: argparse.Namespace) -> int:
    from nbtrack.tracking.fluent import create_experiment

    experiment = create_experiment(args.experiment_name)
    print(f"created experiment {experiment.name!r} with id {experiment.id}")
    return 0


def _experiments_list(args: argparse.Namespace) -> int:
    from nbtrack.store import queries
    from nbtrack.store.store import current_store

    experiments = current_store().read(queries.list_experiments, include_deleted=args.all)
    rows = [
        {
            "experiment_id": e.id,
            "name": e.name,
            "lifecycle_stage": e.lifecycle_stage,
            "created_at": e.created_at.isoformat(timespec="seconds"),
        }
        for e in experiments
    ]
    return _print_rows(rows, args.json)


def _experiments_stage(action: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from nbtrack.tracking import manage

        change = manage.delete_experiment if action == "delete" else manage.restore_experiment
        experiment = change(args.experiment_name)
        print(f"experiment {experiment.name!r} is {experiment.lifecycle_stage}")
        return 0

    return handler


# -- runs ---------------------------------------------------------------------------------------


def _runs_list(args: argparse.Namespace) -> int:
    from nbtrack.tracking.search import search_runs

    frame = search_runs(
        experiment=args.experiment_name,
        filter=args.filter,
        order_by=args.order_by,
        max_results=args.max_results,
        include_deleted=args.all,
    )
    if args.json:
        print(frame.to_json(orient="records", date_format="iso", date_unit="us"))
        return 0
    if not len(frame):
        print("no runs")
        return 0
    # A terminal table: the duration instead of the end, and no system tags (--json has all).
    frame.insert(5, "duration", (frame["end_time"] - frame["start_time"]).dt.total_seconds())
    shown = [c for c in frame.columns if c not in ("end_time", "experiment")]
    print(_table(frame[[c for c in shown if not c.startswith("tags.nbtrack.")]]))
    return 0


def _runs_show(args: argparse.Namespace) -> int:
    from nbtrack.tracking.fluent import get_run

    run = get_run(args.run_id)
    record: dict[str, Any] = {
        "run_id": run.id,
        "name": run.name,
        "experiment_id": run.experiment_id,
        "status": run.status,
        "start_time": run.start_time.isoformat(),
        "end_time": run.end_time.isoformat() if run.end_time else None,
        "duration_s": run.duration.total_seconds() if run.duration else None,
        "source_name": run.source_name,
        "git_commit": run.git_commit,
        "user": run.user,
        "host": run.host,
        "parent_run_id": run.parent_run_id,
        "artifact_uri": run.artifact_uri,
        "params": run.params,
        "metrics": run.metrics,
        "tags": run.tags,
        "error": run.error,
    }
    if args.json:
        print(json.dumps(record, default=str))
        return 0
    for field in ("run_id", "name", "experiment_id", "status", "start_time", "end_time",
                  "duration_s", "source_name", "git_commit", "user", "host", "parent_run_id",
                  "artifact_uri"):  # fmt: skip
        if record[field] is not None:
            print(f"{field:<14} {record[field]}")
    for section in ("params", "metrics", "tags"):
        if record[section]:
            print(f"{section}:")
            for key, value in record[section].items():
                print(f"  {key:<28} {value!r}")
    if record["error"]:
        print("error:\n" + record["error"])
    return 0


def _runs_rename(args: argparse.Namespace) -> int:
    from nbtrack.tracking import manage

    manage.rename_run(args.run_id, args.name)
    print(f"run {args.run_id} is now named {args.name!r}")
    return 0


def _runs_stage(action: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from nbtrack.tracking import manage

        (manage.delete_run if action == "delete" else manage.restore_run)(args.run_id)
        print(
            f"run {args.run_id} {action}d"
            + (" (purged by `nbtrack gc`)" if action == "delete" else "")
        )
        return 0

    return handler


# -- models -------------------------------------------------------------------------------------


def _version_row(version: Any) -> dict[str, Any]:
    return {
        "name": version.name,
        "version": version.version,
        "aliases": ", ".join(version.aliases),
        "status": version.status,
        "run_id": version.run_id,
        "tags": ", ".join(f"{k}={v}" for k, v in sorted(version.tags.items())),
        "created_at": version.created_at.isoformat(timespec="seconds"),
    }


def _models_list(args: argparse.Namespace) -> int:
    from nbtrack.model_registry.versions import search_registered_models

    rows = [
        {
            "name": model.name,
            "latest_version": model.latest_version,
            "versions": model.version_count,
            "aliases": ", ".join(f"{a}={v}" for a, v in sorted(model.aliases.items())),
            "tags": ", ".join(f"{k}={v}" for k, v in sorted(model.tags.items())),
            "description": model.description or "",
            "updated_at": model.updated_at.isoformat(timespec="seconds"),
        }
        for model in search_registered_models()
    ]
    return _print_rows(rows, args.json)


def _models_versions(args: argparse.Namespace) -> int:
    from nbtrack.model_registry.versions import search_model_versions

    return _print_rows([_version_row(v) for v in search_model_versions(args.name)], args.json)


def _models_promote(args: argparse.Namespace) -> int:
    from nbtrack.model_registry.versions import promote

    version = promote(args.name, args.version, alias=args.alias)
    print(f"{args.name}@{args.alias} -> version {version.version}")
    return 0


def _models_history(args: argparse.Namespace) -> int:
    from nbtrack.model_registry.versions import get_alias_history

    frame = get_alias_history(args.name)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso", date_unit="us"))
        return 0
    print(_table(frame) if len(frame) else "no alias was ever set")
    return 0


# -- serving ------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from nbtrack.serving.background import serve
    from nbtrack.serving.settings import parse_hosts, parse_size

    max_body = parse_size(args.max_body, "--max-body")
    allowed_hosts = parse_hosts(args.allowed_hosts)
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
    )
    served = server.served
    what = (
        f"{served.name} version {served.version}"
        + (f" (following {served.metadata['follows']})" if served.metadata["follows"] else "")
        if served.name is not None
        else served.uri
    )
    print(f"serving {what} at {server.url}  (Ctrl-C to stop)", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    try:
        while not stopping.wait(0.5):
            if not server.running:
                print("nbtrack: the server stopped on an error (see above)", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    server.stop()
    print("stopped", file=sys.stderr)
    return 0


# -- the store ----------------------------------------------------------------------------------


def _gc(args: argparse.Namespace) -> int:
    from nbtrack.tracking import manage

    result = manage.gc(progress=lambda done, total: _progress("removing artifacts", done, total))
    print(
        f"purged {result.runs} run(s), {result.experiments} experiment(s), "
        f"{result.metric_points} metric point(s), {result.artifact_bytes / 1e6:.1f} MB of artifacts"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from nbtrack.tracking import manage

    total = len(manage.EXPORTED_TABLES)
    written: list[str] = []

    def step(table: str) -> None:
        written.append(table)
        _progress("exporting", len(written), total, table)

    paths = manage.export(args.dir, progress=step)
    for path in paths:
        print(f"{path}  {path.stat().st_size / 1e6:.2f} MB")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from nbtrack.demo import run_demo, table

    print(f"store: {config.get_tracking_uri()}")
    runs = run_demo()
    print()
    print(table(runs))
    print()
    print("Next: nbtrack runs list -n nbtrack-demo --order-by 'metrics.loss'")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nbtrack.store.doctor import examine

    report = examine(Path(config.get_tracking_uri()))
    marks = {"ok": "ok   ", "fixed": "FIXED", "warning": "WARN ", "error": "ERROR"}
    for finding in report.findings:
        print(f"[{marks[finding.level]}] {finding.message}")
    return 0 if report.healthy else 1


# -- output -------------------------------------------------------------------------------------


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> int:
    if as_json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("nothing to show")
        return 0
    import pandas as pd

    print(_table(pd.DataFrame(rows)))
    return 0


def _table(frame: pd.DataFrame) -> str:
    import pandas as pd

    shown = frame.copy()
    for column in shown.columns:
        if isinstance(shown[column].dtype, pd.DatetimeTZDtype):
            shown[column] = shown[column].dt.strftime("%Y-%m-%d %H:%M:%S")
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        return shown.to_string(index=False, na_rep="")


def _progress(label: str, done: int, total: int, detail: str = "") -> None:
    """A progress bar on a terminal; one final line otherwise (logs stay readable)."""
    if total <= 0:
        return
    width = 30
    filled = int(width * done / total)
    line = f"{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {detail}"
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        print(f"\r{line:<80}", end=end, file=sys.stderr, flush=True)
    elif done == total:
        print(line, file=sys.stderr)


_NESTED = {"experiments", "runs", "models"}
_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "experiments create": _experiments_create,
    "experiments list": _experiments_list,
    "experiments delete": _experiments_stage("delete"),
    "experiments restore": _experiments_stage("restore"),
    "runs list": _runs_list,
    "runs show": _runs_show,
    "runs rename": _runs_rename,
    "runs delete": _runs_stage("delete"),
    "runs restore": _runs_stage("restore"),
    "models list": _models_list,
    "models versions": _models_versions,
    "models promote": _models_promote,
    "models history": _models_history,
    "serve": _serve,
    "gc": _gc,
    "export": _export,
    "demo": _demo,
    "doctor": _doctor,
}


if __name__ == "__main__":
    sys.exit(main())
