"""nbtrack: experiment tracking, a model registry and serving that live inside Jupyter.

The table of contents: ``__all__`` lists exactly the public names, and each is defined in the
module it is imported from. Importing nbtrack loads neither DuckDB nor pandas; they are
imported by the calls that need them.
"""

import os
import typing

from nbtrack._version import __version__
from nbtrack.autologging.switch import autolog
from nbtrack.config import get_tracking_uri, set_tracking_uri
from nbtrack.entities import Experiment, ModelVersion, RegisteredModel, Run
from nbtrack.errors import (
    InvalidValueError,
    NbtrackError,
    NoActiveRunError,
    NotFoundError,
    SchemaVersionError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
)
from nbtrack.http import settings as _serving
from nbtrack.model_registry.log import log_model
from nbtrack.model_registry.uris import load_model
from nbtrack.model_registry.versions import (
    archive_model_version,
    delete_alias,
    delete_model_tag,
    delete_model_version,
    delete_registered_model,
    get_alias_history,
    get_model_version,
    get_registered_model,
    promote,
    register_model,
    restore_model_version,
    search_model_versions,
    search_registered_models,
    set_alias,
    set_model_description,
    set_model_tag,
)
from nbtrack.tracking.artifacts import (
    FileInfo,
    download_artifacts,
    list_artifacts,
    load_dict,
    load_text,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_text,
)
from nbtrack.tracking.diff import RunDiff, diff
from nbtrack.tracking.fluent import (
    active_run,
    create_experiment,
    end_run,
    flush,
    get_experiment,
    get_metric_history,
    get_run,
    last_run,
    list_experiments,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_experiment,
    set_tag,
    set_tags,
    start_run,
)
from nbtrack.tracking.manage import (
    delete_experiment,
    delete_run,
    rename_run,
    restore_experiment,
    restore_run,
)
from nbtrack.tracking.models import ModelInfo
from nbtrack.tracking.run import ActiveRun
from nbtrack.tracking.search import search_runs, sql

if typing.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from nbtrack.mlflow_compat.summary import TransferSummary
    from nbtrack.serving.background import Server
    from nbtrack.web.background import UI
    from nbtrack.widgets.compare import CompareWidget
    from nbtrack.widgets.registry import RegistryWidget


def compare(
    experiment: str | None = None,
    runs: "Sequence[object] | None" = None,
    filter: str | None = None,
) -> "CompareWidget":
    """Compare runs in the notebook: a sortable, filterable run table and charts of the
    selected runs (metric history, param vs metric, metric per run) that refresh as runs
    land. ``runs`` takes run ids, ``Run`` objects or open runs.

    Examples
    --------
    >>> nbtrack.compare(filter="metrics.acc > 0.9")  # doctest: +SKIP
    """
    from nbtrack.widgets.compare import compare as build

    return build(experiment=experiment, runs=runs, filter=filter)


def registry(name: str | None = None) -> "RegistryWidget":
    """The model registry in the notebook: registered models, their versions with run, metrics
    and aliases, buttons to promote, set or remove an alias and archive, and the alias history.
    A change made here is in the store at once (``load_model`` sees it, servers follow it).

    Examples
    --------
    >>> nbtrack.registry("churn")  # doctest: +SKIP
    """
    from nbtrack.widgets.registry import registry as build

    return build(name=name)


def serve(
    model: str,
    port: int | None = None,
    *,
    host: str = _serving.DEFAULT_HOST,
    token: str | None = None,
    insecure: bool = False,
    max_body: int = _serving.DEFAULT_MAX_BODY,
    allowed_hosts: "Iterable[str]" = (),
    header_timeout: float = _serving.DEFAULT_HEADER_TIMEOUT,
    body_timeout: float = _serving.DEFAULT_BODY_TIMEOUT,
    max_connections: int = _serving.DEFAULT_MAX_CONNECTIONS,
) -> "Server":
    """Serve ``model`` (a model URI, or a registered NAME meaning ``models:/NAME@champion``)
    over MLflow's scoring protocol, in a background thread of this process, on ``port`` (a free
    one when None). A served alias is followed: promoting another version switches the server.
    The limits are those of ``nbtrack serve``: headers within ``header_timeout`` s, the body
    within ``body_timeout`` s, at most ``max_connections`` requests in progress.

    Examples
    --------
    >>> with nbtrack.serve("churn") as server:  # doctest: +SKIP
    ...     requests.post(f"{server.url}/invocations", json={"inputs": rows}).json()
    """
    from nbtrack.serving.background import serve as start

    return start(
        model,
        port=port,
        host=host,
        token=token,
        insecure=insecure,
        max_body=max_body,
        allowed_hosts=allowed_hosts,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=max_connections,
    )


def ui(
    port: int | None = None,
    *,
    host: str = _serving.DEFAULT_HOST,
    token: str | None = None,
    insecure: bool = False,
    allowed_hosts: "Iterable[str]" = (),
    open_browser: bool = False,
) -> "UI":
    """The web UI of the current store (runs, charts, code, artifacts, the registry) in a
    background thread of this process, on ``port`` (a free one when None). It reads the store
    as every reader does and follows its marker file: kernels keep logging while it is open.
    ``ui.url`` opens it; ``ui.stop()`` (or leaving a ``with`` block) stops it.

    Examples
    --------
    >>> with nbtrack.ui() as ui:  # doctest: +SKIP
    ...     print(ui.url)
    """
    from nbtrack.web.background import ui as start

    return start(
        port,
        host=host,
        token=token,
        insecure=insecure,
        allowed_hosts=allowed_hosts,
        open_browser=open_browser,
    )


def run_project(
    path: "str | os.PathLike[str]",
    entry_point: str = "main",
    parameters: "Mapping[str, object] | None" = None,
    experiment: str | None = None,
    run_name: str | None = None,
    env_manager: str = "local",
) -> Run:
    """Run an entry point of a project as one run, wait for it and return the finished run.

    ``path`` is a folder with an ``MLproject`` file (or without one: its ``.py``, ``.sh`` and
    ``.ipynb`` files are its entry points), or a notebook or script itself; a notebook gets
    ``parameters`` after its cell tagged ``parameters``. Parameters are checked against their
    types before anything runs. The entry point runs in its own process, which logs to this run
    without ``start_run``; its exit status ends the run FINISHED or FAILED (a failed entry
    point raises nothing: look at ``run.status``). ``env_manager``: ``local`` (this Python),
    ``uv`` or ``virtualenv`` (an environment built from ``python_env.yaml``, cached).

    Examples
    --------
    >>> run = nbtrack.run_project("logistic_regression", parameters={"C": 0.5})  # doctest: +SKIP
    >>> run.status, run.metrics["accuracy"]  # doctest: +SKIP
    """
    from nbtrack.projects.running import run_project as run

    return run(path, entry_point, parameters, experiment, run_name, env_manager)


def import_mlflow(
    source: "str | os.PathLike[str]", experiments: "Sequence[str] | str | None" = None
) -> "TransferSummary":
    """Import an MLflow history into the store: experiments, runs (status, times, params,
    every metric point, tags, nesting), artifacts, MLflow 3 logged models and the registry
    (versions keep their numbers, aliases follow). ``source`` is an ``mlruns`` folder, a
    database URI such as ``sqlite:///mlflow.db``, or an ``http(s)://`` MLflow server;
    ``experiments`` (names or ids) limits it. Runs keep their MLflow ids, and importing again
    writes only what is new. Returns what was written and what was skipped, and why.

    Examples
    --------
    >>> print(nbtrack.import_mlflow("sqlite:///mlflow.db"))  # doctest: +SKIP
    written: 1 experiments, 40 runs, 400 params, 120,000 metric points, ...
    """
    from nbtrack.mlflow_compat.importing import import_mlflow as run_import

    return run_import(os.fspath(source), experiments)


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext nbtrack``: registers ``%%track`` and ``%nbtrack`` (IPython loaded here)."""
    from nbtrack.magic.extension import load

    load(ipython)  # type: ignore[arg-type]


__all__ = [
    "ActiveRun",
    "Experiment",
    "FileInfo",
    "InvalidValueError",
    "ModelInfo",
    "ModelVersion",
    "NbtrackError",
    "NoActiveRunError",
    "NotFoundError",
    "RegisteredModel",
    "Run",
    "RunDiff",
    "SchemaVersionError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "StoreReadOnlyError",
    "__version__",
    "active_run",
    "archive_model_version",
    "autolog",
    "compare",
    "create_experiment",
    "delete_alias",
    "delete_model_tag",
    "delete_experiment",
    "delete_model_version",
    "delete_registered_model",
    "delete_run",
    "diff",
    "download_artifacts",
    "end_run",
    "flush",
    "get_alias_history",
    "get_experiment",
    "get_metric_history",
    "get_model_version",
    "get_registered_model",
    "get_run",
    "get_tracking_uri",
    "import_mlflow",
    "last_run",
    "list_artifacts",
    "list_experiments",
    "load_ipython_extension",
    "load_model",
    "load_dict",
    "load_text",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "promote",
    "register_model",
    "registry",
    "rename_run",
    "restore_experiment",
    "restore_model_version",
    "restore_run",
    "run_project",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "serve",
    "set_alias",
    "set_experiment",
    "set_model_description",
    "set_model_tag",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sql",
    "start_run",
    "ui",
]
