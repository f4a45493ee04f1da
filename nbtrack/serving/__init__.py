"""``nbtrack serve``: a model behind MLflow's scoring protocol, following a registry alias.

The app, the watcher and uvicorn live in submodules imported only when a server starts.
"""
