"""``nbtrack serve``: a model behind MLflow's scoring protocol, following a registry alias.

Kept empty and light on purpose: ``import nbtrack`` imports this package so that the
``nbtrack.serve`` function defined after it stays the attribute users see (a package imported
later, lazily, would replace it). The app, the watcher and uvicorn live in submodules imported
only when a server starts.
"""
