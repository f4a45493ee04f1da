"""``nbtrack+http://HOST:PORT`` (and ``nbtrack+https://``): MLflow's client logging to an
``nbtrack server`` through this process's journal.

MLflow's REST client spends most of a call on its own request; here the plugin's service runs
over team mode's ``RemoteStore``, so ``log_metric`` appends to the local journal and the
background sender delivers it — a server outage costs nothing logged. The token is
NBTRACK_TOKEN, else MLFLOW_TRACKING_TOKEN (what MLflow's own client would send).

A run's artifact URI is the server's ``mlflow-artifacts`` proxy as a full URL with this
scheme's prefix (``nbtrack+http://HOST:PORT/api/2.0/mlflow-artifacts/artifacts/...``): the same
place ``nbtrack server`` answers over REST (``mlflow-artifacts:/<experiment>/<run>/...``), written
through team mode's spool by ``spooled_artifacts.py``, so an artifact logged while the server
is away waits like a metric does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from nbtrack import config
from nbtrack.errors import InvalidValueError
from nbtrack.mlflow_compat.service import ArtifactUri, TrackingService
from nbtrack.store.remote.artifacts import PROXY
from nbtrack.store.remote.store import get_remote_store
from nbtrack.store.schema import ARTIFACTS_FOLDER

PREFIX: Final = "nbtrack+"
SCHEMES: Final = ("nbtrack+http", "nbtrack+https")
MLFLOW_TOKEN_VARIABLE: Final = "MLFLOW_TRACKING_TOKEN"
# Where nbtrack server's proxy (MLflow's own path) keeps run artifacts, below its URL: the path
# team mode's artifact sender already uses.
ARTIFACTS_PATH: Final = PROXY + "/"


def is_remote(store_uri: str | None) -> bool:
    return bool(store_uri) and str(store_uri).lower().startswith(tuple(s + "://" for s in SCHEMES))


def server_address(store_uri: str) -> config.ServerAddress:
    """The server a ``nbtrack+http(s)://`` URI names, with the token from the environment."""
    if not is_remote(store_uri):
        raise InvalidValueError(
            f"tracking URI {store_uri!r} is not accepted here: give nbtrack+http://HOST:PORT "
            "or nbtrack+https://HOST[:PORT][/PREFIX]"
        )
    url = config.checked_server_url(store_uri[len(PREFIX) :], "MLflow tracking URI")
    token = os.environ.get(config.TOKEN_VARIABLE) or os.environ.get(MLFLOW_TOKEN_VARIABLE)
    return config.ServerAddress(url, token or None)


def proxy_artifact_uri(server_url: str) -> ArtifactUri:
    """How the service names a run's artifact folder to MLflow's client: a URL on the server."""
    root = PREFIX + server_url + ARTIFACTS_PATH

    def artifact_uri(folder: Path, relative: str) -> str:
        return root + relative.removeprefix(ARTIFACTS_FOLDER + "/")

    return artifact_uri


def remote_service(store_uri: str) -> TrackingService:
    """A service whose store is this process's journal to the server ``store_uri`` names."""
    address = server_address(store_uri)
    store = get_remote_store(address)
    return TrackingService(store, proxy_artifact_uri(address.url), offline_copies=True)
