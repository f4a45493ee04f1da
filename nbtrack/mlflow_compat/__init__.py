"""MLflow's entities and protocol on nbtrack's store: ``mapping`` (the one mapping), the
services the ``nbtrack:`` plugin and ``nbtrack server`` share (``service``, ``experiments``,
``logged_models``, ``registry``), the journal writes behind them (``writer``), and the plugin
classes MLflow loads (``plugin``, ``registry_plugin``), the only modules importing MLflow."""
