"""Fixtures of the widget tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.widgets.compare import CompareWidget, compare

Factory = Callable[..., CompareWidget]


@pytest.fixture
def open_view(store_path: Path) -> Iterator[Factory]:
    """``compare`` whose widgets are closed after the test, so the poller forgets them."""
    made: list[CompareWidget] = []

    def make(*args: Any, **kwargs: Any) -> CompareWidget:
        view = compare(*args, **kwargs)
        made.append(view)
        return view

    yield make
    for view in made:
        view.close()
