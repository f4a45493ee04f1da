"""Running a program of a project: its output live on the terminal and kept in a log, and
Ctrl-C stopping it and everything it started.

The program gets a session of its own, so that stopping it reaches its children too (a shell
script's python, a notebook's kernel runner) and a Ctrl-C in a notebook, which reaches only the
kernel, stops it as one on a terminal does: SIGINT to the whole group, then SIGTERM, then
SIGKILL for whatever is still running.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

# How long a program has to end after SIGINT, then after SIGTERM.
INTERRUPT_GRACE_S = 10.0
TERMINATE_GRACE_S = 5.0
TAIL_LINES = 30
DRAIN_S = 5.0
_CHUNK = 65536


@dataclass(frozen=True)
class Finished:
    returncode: int
    # The last lines it printed (stdout and stderr together): what a failed run's error shows.
    tail: str

    @property
    def status(self) -> str:
        """The exit status in words: ``0``, ``1``, ``killed by SIGKILL``."""
        if self.returncode < 0:
            try:
                return f"killed by {signal.Signals(-self.returncode).name}"
            except ValueError:
                return f"killed by signal {-self.returncode}"
        return str(self.returncode)


def run_streamed(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    out: TextIO,
    err: TextIO,
    log: Path | None = None,
) -> Finished:
    """Run ``argv`` to its end; its stdout goes to ``out``, its stderr to ``err``, both to
    ``log``. A KeyboardInterrupt stops the program (see the module) and is raised again."""
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    lock = threading.Lock()
    log_file = open(log if log is not None else os.devnull, "ab")  # noqa: SIM115 (closed below)
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except BaseException:
        log_file.close()
        raise
    assert process.stdout is not None and process.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(stream, shown, log_file, lock, tail), daemon=True)
        for stream, shown in ((process.stdout, out), (process.stderr, err))
    ]
    for pump in pumps:
        pump.start()
    try:
        returncode = process.wait()
    except KeyboardInterrupt:
        stop(process)
        raise
    finally:
        # A process it left behind (a server started in the background) may hold the pipes
        # open for ever: its output is not waited for past a few seconds.
        for pump in pumps:
            pump.join(DRAIN_S)
        with lock:
            log_file.close()
    with lock:
        return Finished(returncode, "".join(tail))


def stop(process: subprocess.Popen[bytes]) -> None:
    """End ``process`` and its group: SIGINT, SIGTERM, SIGKILL, each after a grace period; a
    second Ctrl-C goes straight to SIGKILL."""
    try:
        for sent, grace in (
            (signal.SIGINT, INTERRUPT_GRACE_S),
            (signal.SIGTERM, TERMINATE_GRACE_S),
        ):
            _signal_group(process, sent)
            try:
                process.wait(grace)
                break
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        pass
    _signal_group(process, signal.SIGKILL)  # whatever of the group is left
    process.wait()


def _signal_group(process: subprocess.Popen[bytes], sent: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(process.pid, sent)


def _pump(
    stream: BinaryIO,
    shown: TextIO,
    log_file: BinaryIO,
    lock: threading.Lock,
    tail: collections.deque[str],
) -> None:
    # Chunks, not lines: a progress bar redrawn with \r shows as it is drawn.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    partial = ""
    fd = stream.fileno()
    while chunk := os.read(fd, _CHUNK):
        text = decoder.decode(chunk)
        with lock:
            if log_file.closed:
                return  # given up on (see DRAIN_S)
            log_file.write(chunk)
            log_file.flush()
            partial = _keep_lines(partial + text, tail)
        try:
            shown.write(text)
            shown.flush()
        except (OSError, ValueError):
            pass  # a closed terminal must not stop the log
    stream.close()
    if partial:
        with lock:
            tail.append(partial)


def _keep_lines(text: str, tail: collections.deque[str]) -> str:
    *lines, rest = text.split("\n")
    for line in lines:
        tail.append(line + "\n")
    return rest
