"""The JSON read API of ``nbtrack ui`` and of the Jupyter server extension: plain data.

Every answer is built here from the store and returned as JSON-able values; the hosts
(``nbtrack.web`` with Starlette, ``nbtrack.jupyter`` with tornado) only adapt requests to
``routes.answer`` and serve the page files of ``pages/`` (``pages.page_file``), so the views
are written once. ``watch`` says when the store changed (a stat of its marker files, never a
query), and answers are cached until it does. A host adds one endpoint of its own,
``changes?since=VERSION``, which waits (without blocking its loop) until ``watch.version()``
differs: the pages wait on it to draw a change without a reload.
"""
