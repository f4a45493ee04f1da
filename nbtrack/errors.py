"""Every error nbtrack raises on purpose.

::

    NbtrackError
    ├── InvalidValueError (ValueError)    bad input, raised at the call that received it
    │   └── AlreadyExistsError            a name that must be new is taken (an experiment's)
    ├── NotFoundError (LookupError)       no experiment / run / key by that name or id
    ├── NoActiveRunError                  a log_* call with no run open
    ├── RunGoneError                      a server's run is deleted or purged: it takes no files
    ├── EnvironmentBuildError             uv, virtualenv or pip could not build a project's env
    └── StoreError                        the store file itself cannot be used
        ├── StoreBusyError                another process held the lock past the deadline
        ├── StoreReadOnlyError            the file or its folder cannot be written
        ├── SchemaVersionError            the store was written by a newer nbtrack
        ├── StoreFullError                the disk holding the store or its journal is full
        ├── StoreCorruptError             not a DuckDB file, damaged, or its WAL cannot be replayed
        ├── ServerUnreachableError        the `nbtrack server` of NBTRACK_URI does not answer
        └── ServerError                   the server refused a request for a reason of its own

Each message names the bad value and what would be accepted.
"""

from __future__ import annotations


class NbtrackError(Exception):
    """Base class of every error nbtrack raises on purpose."""


class InvalidValueError(NbtrackError, ValueError):
    """A name, key or value the user passed is not accepted."""


class AlreadyExistsError(InvalidValueError):
    """A name that must be new is already taken."""


class NotFoundError(NbtrackError, LookupError):
    """No experiment, run or key matches what was asked for."""


class NoActiveRunError(NbtrackError):
    """A logging call was made while no run is open."""


class RunGoneError(NbtrackError):
    """An ``nbtrack server`` will not take files for a run: it is deleted, or purged and no
    line the server holds names it any more. Sending again cannot help (HTTP 410)."""


class EnvironmentBuildError(NbtrackError):
    """The environment of a project could not be built (an install failed); the message holds
    the command and the end of its output."""


class StoreError(NbtrackError):
    """The store file cannot be opened, read or written."""


class StoreBusyError(StoreError):
    """Another process kept the store locked for longer than the deadline."""


class StoreReadOnlyError(StoreError):
    """The store cannot be written (read-only on disk); it can still be read."""


class SchemaVersionError(StoreError):
    """The store was written by a newer nbtrack; it is never modified."""


class StoreFullError(StoreError):
    """The disk holding the store or its journal has no room left; nothing already logged is
    lost, and storing resumes once space is freed."""


class StoreCorruptError(StoreError):
    """The file is not a DuckDB database, is damaged, or its write-ahead log cannot be
    replayed."""


class ServerUnreachableError(StoreError):
    """The `nbtrack server` this process logs to cannot be reached (refused, reset, timed out).
    Logging goes on into the local journal; reads need the server."""


class ServerError(StoreError):
    """The server answered a request with an error that is not a bad value or a missing name
    (its token refused, an internal error); the message holds what the server said."""
