"""Referring to a run as people do: by the short id the widgets show, or by its name.

One rule for every front end that takes a run from a person (``%%track --run``, ``nbtrack runs
show``): a full id; the first 4 or more hex digits of one (the 8 shown everywhere); or a run
name, where unique. Runs that are not deleted come first; an ambiguous reference is an error
that lists the runs it matches.

``nbtrack.get_run`` keeps MLflow's contract and takes full ids only: a prefix or a name that is
unique today may match a second run tomorrow, and code that fetched a run by it would then
fail. Its "not found" error points at the run a short id means.
"""

from __future__ import annotations

from nbtrack.store import runs
from nbtrack.store.current import current_store
from nbtrack.tracking.validation import check_name

ACCEPTED = runs.ACCEPTED_REFERENCES


def resolve_run(reference: str, what: str = "run") -> str:
    """The full id of the one run ``reference`` means; ``what`` names the input in errors
    (``"--run"``, say).

    Raises
    ------
    NotFoundError
        No run has that id, id prefix or name.
    InvalidValueError
        Several runs match (the message lists them), or ``reference`` is not a name.

    Examples
    --------
    >>> resolve_run("3f2a9c1e")  # doctest: +SKIP
    '3f2a9c1e8b1d0e774c2a9f1e8b1d0e77'
    """
    checked = check_name(reference, what)
    return current_store().read(runs.resolve_run_reference, checked, what)


def meant_by(reference: str) -> list[runs.RunMatch]:
    """The runs ``reference`` may mean (id prefix or name), newest first; for hints."""
    return current_store().read(runs.run_matches, reference)
