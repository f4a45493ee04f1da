"""nbtrack: experiment tracking, a model registry and serving that live inside Jupyter.

The table of contents: ``__all__`` lists exactly the public names, and each is defined in the
module it is imported from. Importing nbtrack loads neither DuckDB nor pandas; they are
imported by the calls that need them.
"""

from nbtrack._version import __version__
from nbtrack.config import get_tracking_uri, set_tracking_uri
from nbtrack.entities import Experiment, Run
from nbtrack.errors import (
    InvalidValueError,
    NbtrackError,
    NoActiveRunError,
    NotFoundError,
    SchemaVersionError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
)
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
from nbtrack.tracking.run import ActiveRun

__all__ = [
    "ActiveRun",
    "Experiment",
    "InvalidValueError",
    "NbtrackError",
    "NoActiveRunError",
    "NotFoundError",
    "Run",
    "SchemaVersionError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "__version__",
    "active_run",
    "create_experiment",
    "end_run",
    "flush",
    "get_experiment",
    "get_metric_history",
    "get_run",
    "get_tracking_uri",
    "last_run",
    "list_experiments",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
