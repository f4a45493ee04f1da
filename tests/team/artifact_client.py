"""A client process for the large-file tests: spool one file, send it, download it back, and
print what that cost (seconds, resident memory before and at its peak) as JSON.

``python -m tests.team.artifact_client SERVER_URL SPOOL SOURCE DESTINATION DOWNLOAD``
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from nbtrack.config import ServerAddress
from nbtrack.store.remote import artifacts
from nbtrack.store.remote.connection import ServerConnection
from tests.team.artifact_servers import peak_rss, reset_peak_rss, rss


def main(url: str, spool: str, source: str, destination: str, download: str) -> None:
    connection = ServerConnection(ServerAddress(url))
    # A small file first, so that imports (s3fs for a bucket) and connections are made before
    # the baseline is taken: what is measured is what the large file costs.
    warm_up = Path(download).with_name("warm-up.txt")
    warm_up.write_text("warm-up")
    artifacts.spool_copy(Path(spool), warm_up, destination + ".warm-up")
    assert artifacts.send_pending(connection, Path(spool))
    artifacts.download_file(connection, destination + ".warm-up", warm_up)
    pid = os.getpid()
    reset_peak_rss(pid)
    before = rss(pid)
    started = time.perf_counter()
    artifacts.spool_copy(Path(spool), Path(source), destination)
    spooled = time.perf_counter()
    assert artifacts.send_pending(connection, Path(spool)), "not everything was sent"
    sent = time.perf_counter()
    send_peak = peak_rss(pid)
    sha256 = artifacts.download_file(connection, destination, Path(download))
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "rss_before": before,
                "rss_peak": peak_rss(pid),
                "rss_peak_sending": send_peak,
                "spool_s": spooled - started,
                "send_s": sent - spooled,
                "download_s": done - sent,
                "sha256": sha256,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:6])
