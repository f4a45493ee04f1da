"""The web front end: ``nbtrack server`` (MLflow's REST API) and ``nbtrack ui``."""
