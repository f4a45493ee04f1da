"""``nbtrack models list | versions | promote | history``: the registry."""

from __future__ import annotations

import argparse
from typing import Any

from nbtrack.cli.output import json_flag, print_rows, table


def add_commands(commands: Any) -> None:
    group = commands.add_parser("models", help="registered models, versions and aliases")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="registered models and their aliases")
    json_flag(listing)
    listing.set_defaults(handler=list_models)
    versions = actions.add_parser("versions", help="the versions of a model")
    versions.add_argument("name")
    json_flag(versions)
    versions.set_defaults(handler=list_versions)
    promoting = actions.add_parser("promote", help="point an alias at a version")
    promoting.add_argument("name")
    promoting.add_argument("version")
    promoting.add_argument("--alias", default="champion")
    promoting.set_defaults(handler=promote)
    moves = actions.add_parser("history", help="every alias move of a model")
    moves.add_argument("name")
    json_flag(moves)
    moves.set_defaults(handler=history)


def _version_row(version: Any) -> dict[str, Any]:
    return {
        "name": version.name,
        "version": version.version,
        "aliases": ", ".join(version.aliases),
        "status": version.status,
        "run_id": version.run_id,
        "tags": ", ".join(f"{k}={v}" for k, v in sorted(version.tags.items())),
        "created_at": version.created_at,
    }


def list_models(args: argparse.Namespace) -> int:
    from nbtrack.model_registry.versions import search_registered_models

    rows = [
        {
            "name": model.name,
            "latest_version": model.latest_version,
            "versions": model.version_count,
            "aliases": ", ".join(f"{a}={v}" for a, v in sorted(model.aliases.items())),
            "tags": ", ".join(f"{k}={v}" for k, v in sorted(model.tags.items())),
            "description": model.description or "",
            "updated_at": model.updated_at,
        }
        for model in search_registered_models()
    ]
    return print_rows(rows, args.json)


def list_versions(args: argparse.Namespace) -> int:
    from nbtrack.model_registry.versions import search_model_versions

    return print_rows([_version_row(v) for v in search_model_versions(args.name)], args.json)


def promote(args: argparse.Namespace) -> int:
    from nbtrack.model_registry import versions

    version = versions.promote(args.name, args.version, alias=args.alias)
    print(f"{args.name}@{args.alias} -> version {version.version}")
    return 0


def history(args: argparse.Namespace) -> int:
    from nbtrack.model_registry.versions import get_alias_history

    frame = get_alias_history(args.name)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso", date_unit="us"))
        return 0
    print(table(frame) if len(frame) else "no alias was ever set")
    return 0
