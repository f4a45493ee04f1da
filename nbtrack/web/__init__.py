"""The browser's front ends: ``nbtrack ui`` (the pages and the read API of
``nbtrack.read_api`` over Starlette) and, on the same port, ``nbtrack server``.

``app.create_ui_app`` is the whole UI as one ASGI app; ``app.ui_routes`` its routes alone, to
mount in another Starlette app behind ``access.UiAccess`` and the ``http`` guard.
"""
