"""MLflow's REST API (``/api/2.0/mlflow/...``) and its ``mlflow-artifacts`` proxy, answered by
``mlflow_compat``'s services: ``routes`` (the table and the adapter), ``fields`` (a request's
fields, checked in MLflow's words), ``tracking_routes``, ``registry_routes``, ``artifacts``."""
