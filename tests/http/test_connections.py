"""What a server keeps within the process's open-file limit, and how it says it ran short."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
from collections.abc import Iterator

import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.http.connections import FILE_RESERVE, PROBE_ROOM, capacity_for, quiet_loop_errors


@pytest.fixture
def file_limit() -> Iterator[None]:
    """Restores this process's open-file limit after a test lowers it."""
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, saved)


def _lower_file_limit_to_leave(room: int) -> None:
    in_use = len(os.listdir("/dev/fd"))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + FILE_RESERVE + room, hard))


def test_max_connections_is_lowered_to_fit_the_open_file_limit(
    file_limit: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert capacity_for(4).limit == 4 and capacity_for(4).cap == 4 + PROBE_ROOM
    _lower_file_limit_to_leave(PROBE_ROOM + 20)
    with caplog.at_level(logging.INFO, logger="nbtrack.serve"):
        capacity = capacity_for(512)
    # listdir itself may hold one more descriptor while it counts them.
    assert capacity.limit in (19, 20) and capacity.cap == capacity.limit + PROBE_ROOM
    assert "leaves no room for 512" in caplog.text
    _lower_file_limit_to_leave(PROBE_ROOM - 5)
    with pytest.raises(InvalidValueError, match=r"open-file limit \(ulimit -n \d+\)"):
        capacity_for(512)


def test_running_out_of_file_descriptors_is_one_line_not_a_traceback_per_accept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.new_event_loop()
    try:
        quiet_loop_errors(loop)
        exhausted = OSError(errno.EMFILE, "Too many open files")
        with caplog.at_level(logging.INFO):
            for _ in range(1000):
                loop.call_exception_handler(
                    {"message": "socket.accept() out of system resource", "exception": exhausted}
                )
            loop.call_exception_handler({"message": "something else", "exception": ValueError()})
    finally:
        loop.close()
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("new connections wait: Too many open files; raise the")
    assert messages[1:] == ["something else"]  # anything else goes to asyncio's own handler
