"""An ``mlruns`` folder (MLflow's file store) read as the files it is made of.

MLflow 3 refuses to open its own file store unless ``MLFLOW_ALLOW_FILE_STORE`` is set, and
MLflow need not even be installed to import one: the layout is plain. ``<experiment>/meta.yaml``;
``<experiment>/<run>/meta.yaml`` with ``params/``, ``tags/`` and ``metrics/`` (one file per key,
a key's ``/`` a sub-folder; a metric file has one ``timestamp value step`` line per point) and
``artifacts/``; MLflow 3's logged models under ``<experiment>/models/<model id>/``; the registry
under ``models/<name>/`` (``meta.yaml`` with the aliases, ``version-<n>/meta.yaml``).

Only regular files inside the folder are read: a symbolic link is never followed out of it.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.mlflow_compat.sources import (
    Point,
    SourceExperiment,
    SourceLoggedModel,
    SourceModel,
    SourceRun,
    SourceVersion,
)

# MLflow writes statuses into meta.yaml as the numbers of its protobuf enums.
RUN_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
MODEL_STATUSES = {
    0: "LOGGED_MODEL_STATUS_UNSPECIFIED",
    1: "LOGGED_MODEL_PENDING",
    2: "LOGGED_MODEL_READY",
    3: "LOGGED_MODEL_UPLOAD_FAILED",
}
# Folders of the root that are not experiments.
_NOT_EXPERIMENTS = {".trash", "models"}


class MlrunsSource:
    """The ``Source`` of an ``mlruns`` folder."""

    def __init__(self, root: Path) -> None:
        if not (root.is_dir() and any(root.glob("*/meta.yaml"))):
            raise NotFoundError(
                f"{str(root)!r} is not an MLflow file store: no <experiment>/meta.yaml in it "
                "(give the mlruns folder itself)"
            )
        self.root = root.resolve()

    def experiments(self) -> list[SourceExperiment]:
        found = []
        for folder in sorted(self.root.iterdir(), key=lambda p: p.name):
            if folder.name in _NOT_EXPERIMENTS or not _regular(folder / "meta.yaml"):
                continue
            meta = _meta(folder / "meta.yaml")
            found.append(
                SourceExperiment(
                    str(meta.get("experiment_id", folder.name)),
                    str(meta["name"]),
                    str(meta.get("lifecycle_stage") or "active"),
                )
            )
        return found

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        folder = self._inside(experiment_id)
        for run_folder in sorted(folder.iterdir(), key=lambda p: p.name):
            if run_folder.name == "models" or not _regular(run_folder / "meta.yaml"):
                continue
            yield self._run(experiment_id, run_folder)

    def _run(self, experiment_id: str, folder: Path) -> SourceRun:
        meta = _meta(folder / "meta.yaml")
        tags = _key_files(folder / "tags")
        name = meta.get("run_name") or tags.get("mlflow.runName") or ""
        return SourceRun(
            id=str(meta.get("run_id") or folder.name),
            experiment_id=experiment_id,
            name=str(name),
            status=RUN_STATUSES.get(meta["status"], str(meta["status"])),
            start_time=meta.get("start_time"),
            end_time=meta.get("end_time"),
            user=meta.get("user_id") or None,
            lifecycle_stage=str(meta.get("lifecycle_stage") or "active"),
            params=_key_files(folder / "params"),
            tags=tags,
            metric_keys=tuple(sorted(_key_paths(folder / "metrics"))),
        )

    def metric_history(self, run: SourceRun, key: str) -> list[Point]:
        path = _key_paths(self._run_folder(run) / "metrics").get(key)
        if path is None:
            return []
        points = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            try:
                timestamp, value = int(fields[0]), float(fields[1])
                step = int(fields[2]) if len(fields) > 2 else 0
            except (ValueError, IndexError):
                raise InvalidValueError(
                    f"{path}: line {number} {line[:80]!r} is not 'timestamp value step'"
                ) from None
            points.append((value, timestamp, step))
        return points

    def download_artifacts(self, run: SourceRun, destination: Path) -> None:
        meta = _meta(self._run_folder(run) / "meta.yaml")
        copy_regular(self._local(meta.get("artifact_uri"), self._run_folder(run) / "artifacts"),
                      destination)  # fmt: skip

    def logged_models(self, experiment_ids: list[str]) -> list[SourceLoggedModel]:
        found = []
        for experiment_id in experiment_ids:
            models = self._inside(experiment_id) / "models"
            if not models.is_dir():
                continue
            for folder in sorted(models.iterdir(), key=lambda p: p.name):
                if _regular(folder / "meta.yaml"):
                    found.append(self._logged_model(folder))
        return found

    def _logged_model(self, folder: Path) -> SourceLoggedModel:
        meta = _meta(folder / "meta.yaml")
        return SourceLoggedModel(
            id=str(meta.get("model_id") or folder.name),
            name=str(meta.get("name") or "model"),
            experiment_id=str(meta["experiment_id"]),
            run_id=meta.get("source_run_id") or None,
            status=MODEL_STATUSES.get(meta["status"], str(meta["status"])),
            model_type=str(meta.get("model_type") or ""),
            created=int(meta.get("creation_timestamp") or 0),
            updated=int(meta.get("last_updated_timestamp") or 0),
            params=_key_files(folder / "params"),
            tags=_key_files(folder / "tags"),
        )

    def download_model(self, model: SourceLoggedModel, destination: Path) -> None:
        folder = self._inside(model.experiment_id, "models", model.id)
        meta = _meta(folder / "meta.yaml")
        copy_regular(self._local(meta.get("artifact_location"), folder / "artifacts"), destination)

    def registered_models(self) -> list[SourceModel]:
        root = self.root / "models"
        if not root.is_dir():
            return []
        return [
            self._registered(folder)
            for folder in sorted(root.iterdir(), key=lambda p: p.name)
            if _regular(folder / "meta.yaml")
        ]

    def _registered(self, folder: Path) -> SourceModel:
        meta = _meta(folder / "meta.yaml")
        versions = []
        for version_folder in folder.glob("version-*"):
            if _regular(version_folder / "meta.yaml"):
                found = _meta(version_folder / "meta.yaml")
                versions.append(
                    SourceVersion(
                        version=int(found["version"]),
                        source=str(found.get("source") or ""),
                        run_id=found.get("run_id") or None,
                        model_id=found.get("model_id") or None,
                        description=str(found.get("description") or ""),
                        tags=_key_files(version_folder / "tags"),
                    )
                )
        aliases = {str(k): int(v) for k, v in (meta.get("aliases") or {}).items()}
        return SourceModel(
            name=str(meta["name"]),
            description=str(meta.get("description") or ""),
            tags=_key_files(folder / "tags"),
            aliases=aliases,
            versions=tuple(sorted(versions, key=lambda v: v.version)),
        )

    # -- paths ------------------------------------------------------------------------------

    def _inside(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidValueError(f"{'/'.join(parts)!r} is not a folder of {self.root}")
        return path

    def _run_folder(self, run: SourceRun) -> Path:
        return self._inside(run.experiment_id, run.id)

    def _local(self, uri: object, fallback: Path) -> Path:
        """The folder an ``artifact_uri`` names, if it is inside this mlruns folder; else the
        folder it has in the layout (an mlruns folder moved elsewhere keeps its artifacts)."""
        if isinstance(uri, str) and uri.startswith("file://"):
            path = Path(uri.removeprefix("file://")).resolve()
            if path.is_relative_to(self.root) and path.is_dir():
                return path
        return fallback


def _meta(path: Path) -> dict[str, Any]:
    # import_module, as models/mlmodel.py does: PyYAML's type stubs are an optional install.
    loaded = importlib.import_module("yaml").safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise InvalidValueError(f"{path} is not an MLflow meta.yaml (a mapping)")
    return loaded


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _key_paths(folder: Path) -> dict[str, Path]:
    """Each regular file under ``folder`` by its key: its path relative to ``folder``."""
    found: dict[str, Path] = {}
    if not folder.is_dir() or folder.is_symlink():
        return found
    for here, _, files in os.walk(folder):
        for name in files:
            path = Path(here) / name
            if _regular(path):
                found[path.relative_to(folder).as_posix()] = path
    return found


def _key_files(folder: Path) -> dict[str, str]:
    # Bytes decoded as they are: read_text would turn a value's "\r\n" into "\n".
    return {key: path.read_bytes().decode() for key, path in _key_paths(folder).items()}


def copy_regular(source: Path, destination: Path) -> None:
    """The regular files under ``source`` into ``destination``, by their relative paths."""
    for key, path in _key_paths(source).items():
        target = destination / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
