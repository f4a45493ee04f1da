"""One line in place of a widget whose kernel is gone.

After a kernel restart the page still shows the widgets drawn before it, disconnected: each
of their parts gets ipywidgets' broken-link icon and no click does anything. A ``RestartNote``
placed inside a widget (whose box has the class ``nbtrack-root``) draws nothing while the kernel
lives; when its own part is disconnected its JavaScript hides the widget and says, in one
line, that the kernel restarted and the cell must run again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import anywidget
import traitlets

JS_PATH: Final = Path(__file__).with_name("restart_note.js")
ROOT_CLASS: Final = "nbtrack-root"


class RestartNote(anywidget.AnyWidget):
    """Invisible while the kernel lives; after a restart, ``message`` in place of its root."""

    # The file's text rather than a Path: a Path makes anywidget keep every instance alive
    # for hot reloading (see run_table.RunTable).
    _esm = JS_PATH.read_text(encoding="utf-8")

    message = traitlets.Unicode().tag(sync=True)

    def __init__(self, what: str, **kwargs: Any) -> None:
        super().__init__(
            message=(
                f"The kernel restarted since this {what} was drawn: run its cell again to use it."
            ),
            **kwargs,
        )
        # Takes no room: a zero-height part of the box until it is needed.
        self.layout.margin = "0"
