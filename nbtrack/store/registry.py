"""The model registry (schema version 3): registered models, their versions and tags,
aliases and the history of every alias move.

Version numbers and aliases are assigned here, inside one ``Store.write`` transaction under the
file lock: two processes registering the same name get two different versions.

Each function takes an open connection; values are bound, never written into the SQL.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from nbtrack.entities import ARCHIVED, ModelVersion, RegisteredModel, from_micros
from nbtrack.errors import AlreadyExistsError, InvalidValueError, NotFoundError
from nbtrack.store.remote.operations import remote_operation

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

_VERSION_COLUMNS = (
    "v.name, v.version, v.run_id, v.source, v.status, v.created_at, v.storage_path, "
    "v.description, "
    "coalesce((SELECT list(a.alias ORDER BY a.alias) FROM aliases a "
    "WHERE a.name = v.name AND a.version = v.version), []), "
    "coalesce((SELECT list([t.key, t.value] ORDER BY t.key) FROM model_version_tags t "
    "WHERE t.name = v.name AND t.version = v.version), [])"
)


def _model_version(row: tuple[Any, ...]) -> ModelVersion:
    name, version, run_id, source, status, created_at, storage_path, description, aliases, tags = (
        row
    )
    created = from_micros(created_at)
    assert created is not None
    return ModelVersion(
        name=name,
        version=int(version),
        run_id=run_id,
        source=source,
        status=status,
        aliases=tuple(aliases),
        created_at=created,
        storage_path=storage_path,
        description=description,
        tags={key: value for key, value in tags},
    )


def _require_registered_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    if con.execute("SELECT 1 FROM registered_models WHERE name = ?", [name]).fetchone() is None:
        names = [n for (n,) in con.execute(
            "SELECT name FROM registered_models ORDER BY name LIMIT 50"
        ).fetchall()]  # fmt: skip
        raise NotFoundError(f"no registered model named {name!r}; registered models: {names}")


def _versions_of(con: duckdb.DuckDBPyConnection, name: str) -> list[int]:
    return [int(v) for (v,) in con.execute(
        "SELECT version FROM model_versions WHERE name = ? ORDER BY version", [name]
    ).fetchall()]  # fmt: skip


@remote_operation("write_registry")
def create_registered_model(
    con: duckdb.DuckDBPyConnection, name: str, description: str | None, at: int
) -> None:
    """A registered model with no version yet (MLflow's clients create one before its first
    version); ``AlreadyExistsError`` if the name is taken."""
    if con.execute("SELECT 1 FROM registered_models WHERE name = ?", [name]).fetchone():
        raise AlreadyExistsError(f"Registered Model (name={name}) already exists.")
    con.execute("INSERT INTO registered_models VALUES (?, ?, ?, ?)", [name, description, at, at])


@remote_operation("write_registry")
def create_model_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    run_id: str | None,
    source: str,
    storage_path: str,
    files: dict[str, str],
    at: int,
) -> ModelVersion:
    """Register the model copied to ``storage_path`` (relative to the store's folder) as the
    next version of ``name``, creating the registered model if it is new."""
    if con.execute("SELECT 1 FROM registered_models WHERE name = ?", [name]).fetchone() is None:
        con.execute("INSERT INTO registered_models VALUES (?, NULL, ?, ?)", [name, at, at])
    else:
        con.execute("UPDATE registered_models SET updated_at = ? WHERE name = ?", [at, name])
    (version,) = con.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = ?", [name]
    ).fetchone() or (1,)
    con.execute(
        "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, 'READY', NULL, ?)",
        [name, version, run_id, source, storage_path, at],
    )
    con.executemany(
        "INSERT INTO model_version_files VALUES (?, ?, ?, ?)",
        [[name, version, file, digest] for file, digest in sorted(files.items())],
    )
    return get_model_version(con, name, int(version))


@remote_operation("read")
def get_model_version(con: duckdb.DuckDBPyConnection, name: str, version: int) -> ModelVersion:
    row = con.execute(
        f"SELECT {_VERSION_COLUMNS} FROM model_versions v WHERE v.name = ? AND v.version = ?",  # noqa: S608
        [name, version],
    ).fetchone()
    if row is None:
        _require_registered_model(con, name)
        raise NotFoundError(
            f"registered model {name!r} has no version {version}; its versions: "
            f"{_versions_of(con, name)}"
        )
    return _model_version(row)


@remote_operation("read")
def latest_model_version(con: duckdb.DuckDBPyConnection, name: str) -> ModelVersion:
    """The highest version of ``name`` that is not archived."""
    _require_registered_model(con, name)
    row = con.execute(
        "SELECT max(version) FROM model_versions WHERE name = ? AND status <> 'ARCHIVED'", [name]
    ).fetchone()
    if row is None or row[0] is None:
        raise NotFoundError(
            f"registered model {name!r} has no version that is not archived; its versions: "
            f"{_versions_of(con, name)}"
        )
    return get_model_version(con, name, int(row[0]))


@remote_operation("read")
def aliased_model_version(con: duckdb.DuckDBPyConnection, name: str, alias: str) -> ModelVersion:
    _require_registered_model(con, name)
    row = con.execute(
        "SELECT version FROM aliases WHERE name = ? AND alias = ?", [name, alias]
    ).fetchone()
    if row is None:
        raise NotFoundError(
            f"registered model {name!r} has no alias {alias!r}; its aliases: "
            f"{_aliases_of(con, name)}"
        )
    return get_model_version(con, name, int(row[0]))


def _aliases_of(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, int]:
    return {alias: int(version) for alias, version in con.execute(
        "SELECT alias, version FROM aliases WHERE name = ? ORDER BY alias", [name]
    ).fetchall()}  # fmt: skip


@remote_operation("read")
def model_version_files(con: duckdb.DuckDBPyConnection, name: str, version: int) -> dict[str, str]:
    """The SHA-256 of every file of a version's copy, recorded when it was registered."""
    return dict(
        con.execute(
            "SELECT file, sha256 FROM model_version_files WHERE name = ? AND version = ?",
            [name, version],
        ).fetchall()
    )


@remote_operation("read")
def search_model_versions(
    con: duckdb.DuckDBPyConnection, name: str | None = None
) -> list[ModelVersion]:
    """Every version (of ``name``, or of every registered model), by name then version."""
    if name is not None:
        _require_registered_model(con, name)
    rows = con.execute(
        f"SELECT {_VERSION_COLUMNS} FROM model_versions v "  # noqa: S608
        "WHERE ? IS NULL OR v.name = ? ORDER BY v.name, v.version",
        [name, name],
    ).fetchall()
    return [_model_version(row) for row in rows]


def _record_alias_move(
    con: duckdb.DuckDBPyConnection,
    name: str,
    alias: str,
    version: int | None,
    previous: int | None,
    user: str,
    at: int,
) -> None:
    # History is read in changed_at order: keep it strictly increasing per model.
    (last,) = con.execute(
        "SELECT max(changed_at) FROM alias_history WHERE name = ?", [name]
    ).fetchone() or (None,)
    changed_at = at if last is None else max(at, int(last) + 1)
    con.execute(
        "INSERT INTO alias_history VALUES (?, ?, ?, ?, ?, ?)",
        [name, alias, version, previous, changed_at, user],
    )
    con.execute("UPDATE registered_models SET updated_at = ? WHERE name = ?", [changed_at, name])


@remote_operation("write_registry")
def set_alias(
    con: duckdb.DuckDBPyConnection, name: str, alias: str, version: int, user: str, at: int
) -> ModelVersion:
    """Point ``alias`` at ``version`` (which must exist and not be archived), keeping the move
    in alias_history; pointing it where it points already changes nothing."""
    target = get_model_version(con, name, version)
    if target.status == ARCHIVED:
        raise InvalidValueError(
            f"version {version} of {name!r} is archived; an alias can only point at a READY version"
        )
    previous = _aliases_of(con, name).get(alias)
    if previous == version:
        return target
    con.execute("DELETE FROM aliases WHERE name = ? AND alias = ?", [name, alias])
    con.execute("INSERT INTO aliases VALUES (?, ?, ?)", [name, alias, version])
    _record_alias_move(con, name, alias, version, previous, user, at)
    return get_model_version(con, name, version)


@remote_operation("write_registry")
def delete_alias(con: duckdb.DuckDBPyConnection, name: str, alias: str, user: str, at: int) -> None:
    _require_registered_model(con, name)
    existing = _aliases_of(con, name)
    if alias not in existing:
        raise NotFoundError(
            f"registered model {name!r} has no alias {alias!r}; its aliases: {existing}"
        )
    con.execute("DELETE FROM aliases WHERE name = ? AND alias = ?", [name, alias])
    _record_alias_move(con, name, alias, None, existing[alias], user, at)


@remote_operation("read")
def alias_history(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """Every alias move of ``name``, oldest first."""
    import pandas as pd

    _require_registered_model(con, name)
    rows = con.execute(
        "SELECT alias, version, previous_version, changed_at, changed_by FROM alias_history "
        "WHERE name = ? ORDER BY changed_at",
        [name],
    ).fetchall()
    return pd.DataFrame(
        {
            "alias": pd.Series([r[0] for r in rows], dtype="object"),
            "version": pd.Series([r[1] for r in rows], dtype="Int64"),
            "previous_version": pd.Series([r[2] for r in rows], dtype="Int64"),
            "changed_at": pd.to_datetime(
                pd.Series([r[3] for r in rows], dtype="int64"), unit="us", utc=True
            ),
            "changed_by": pd.Series([r[4] for r in rows], dtype="object"),
        }
    )


@remote_operation("read")
def model_version_at(
    con: duckdb.DuckDBPyConnection, storage_path: str
) -> tuple[ModelVersion, dict[str, str]] | None:
    """The version stored in ``storage_path`` (relative to the store's folder) and its file
    hashes, or None when no version is stored there."""
    row = con.execute(
        "SELECT name, version FROM model_versions WHERE storage_path = ?", [storage_path]
    ).fetchone()
    if row is None:
        return None
    version = get_model_version(con, row[0], int(row[1]))
    return version, model_version_files(con, version.name, version.version)


def _refuse_if_aliased(
    con: duckdb.DuckDBPyConnection, name: str, versions: list[int], doing: str
) -> None:
    pointing = {a: v for a, v in _aliases_of(con, name).items() if v in versions}
    if pointing:
        listed = ", ".join(f"{name}@{alias} -> version {v}" for alias, v in pointing.items())
        raise InvalidValueError(
            f"cannot {doing}: {listed}; move or delete the alias first (set_alias / delete_alias)"
        )


@remote_operation("write_registry")
def set_model_version_status(
    con: duckdb.DuckDBPyConnection, name: str, version: int, status: str
) -> ModelVersion:
    """Archive a version (refused while an alias points at it) or make it READY again."""
    get_model_version(con, name, version)
    if status == ARCHIVED:
        _refuse_if_aliased(con, name, [version], f"archive version {version} of {name!r}")
    con.execute(
        "UPDATE model_versions SET status = ? WHERE name = ? AND version = ?",
        [status, name, version],
    )
    return get_model_version(con, name, version)


@remote_operation("write_registry")
def delete_model_versions(
    con: duckdb.DuckDBPyConnection, name: str, version: int | None
) -> list[str]:
    """Delete one version, or the whole model when ``version`` is None; refused while an
    alias points at what would go. Returns the storage paths whose folders may be removed."""
    _require_registered_model(con, name)
    versions = _versions_of(con, name) if version is None else [version]
    if version is not None:
        get_model_version(con, name, version)
    what = f"delete {name!r}" if version is None else f"delete version {version} of {name!r}"
    _refuse_if_aliased(con, name, versions, what)
    paths = [p for (p,) in con.execute(
        "SELECT storage_path FROM model_versions WHERE name = ? AND list_contains(?, version)",
        [name, versions],
    ).fetchall()]  # fmt: skip
    for table in ("model_version_files", "model_version_tags", "model_versions"):
        con.execute(
            f"DELETE FROM {table} WHERE name = ? AND list_contains(?, version)",  # noqa: S608
            [name, versions],
        )
    if version is None:
        for table in ("aliases", "alias_history", "registered_model_tags", "registered_models"):
            con.execute(f"DELETE FROM {table} WHERE name = ?", [name])  # noqa: S608
    return paths


@remote_operation("write_registry")
def set_model_description(
    con: duckdb.DuckDBPyConnection, name: str, version: int | None, description: str
) -> None:
    if version is None:
        _require_registered_model(con, name)
        con.execute(
            "UPDATE registered_models SET description = ?, updated_at = ? WHERE name = ?",
            [description, time.time_ns() // 1000, name],
        )
        return
    get_model_version(con, name, version)
    con.execute(
        "UPDATE model_versions SET description = ? WHERE name = ? AND version = ?",
        [description, name, version],
    )


@remote_operation("write_registry")
def set_model_tag(
    con: duckdb.DuckDBPyConnection, name: str, version: int | None, key: str, value: str | None
) -> None:
    """Set (or, with ``value`` None, delete) a tag of a registered model or of one version."""
    keys: list[object]
    if version is None:
        _require_registered_model(con, name)
        table, where, keys = "registered_model_tags", "name = ?", [name]
    else:
        get_model_version(con, name, version)
        table, where, keys = "model_version_tags", "name = ? AND version = ?", [name, version]
    if value is None:
        # The table and the WHERE clause are chosen above from constants; values are bound.
        query = f"SELECT 1 FROM {table} WHERE {where} AND key = ?"  # noqa: S608
        found = con.execute(query, [*keys, key]).fetchone()
        if found is None:
            owner = repr(name) if version is None else f"version {version} of {name!r}"
            raise NotFoundError(f"{owner} has no tag {key!r}")
    con.execute(f"DELETE FROM {table} WHERE {where} AND key = ?", [*keys, key])  # noqa: S608
    if value is not None:
        con.execute(
            f"INSERT INTO {table} VALUES ({', '.join('?' * (len(keys) + 2))})",  # noqa: S608
            [*keys, key, value],
        )
    con.execute(
        "UPDATE registered_models SET updated_at = ? WHERE name = ?",
        [time.time_ns() // 1000, name],
    )


@remote_operation("read")
def registered_models(
    con: duckdb.DuckDBPyConnection, name: str | None = None
) -> list[RegisteredModel]:
    """Every registered model (or the one named), by name, with its aliases and tags."""
    if name is not None:
        _require_registered_model(con, name)
    rows = con.execute(
        "SELECT m.name, m.description, m.created_at, m.updated_at, "
        "(SELECT max(version) FROM model_versions v WHERE v.name = m.name), "
        "(SELECT count(*) FROM model_versions v WHERE v.name = m.name), "
        "coalesce((SELECT list([a.alias, a.version::VARCHAR] ORDER BY a.alias) FROM aliases a "
        "WHERE a.name = m.name), []), "
        "coalesce((SELECT list([t.key, t.value] ORDER BY t.key) FROM registered_model_tags t "
        "WHERE t.name = m.name), []) "
        "FROM registered_models m WHERE ? IS NULL OR m.name = ? ORDER BY m.name",
        [name, name],
    ).fetchall()
    models = []
    for name_, description, created, updated, latest, count, aliases, tags in rows:
        created_at, updated_at = from_micros(created), from_micros(updated)
        assert created_at is not None and updated_at is not None
        models.append(
            RegisteredModel(
                name=name_,
                description=description,
                created_at=created_at,
                updated_at=updated_at,
                latest_version=None if latest is None else int(latest),
                version_count=int(count),
                aliases={alias: int(version) for alias, version in aliases},
                tags={key: value for key, value in tags},
            )
        )
    return models
