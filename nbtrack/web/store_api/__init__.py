"""The routes below ``/nbtrack/store/v1/`` through which nbtrack's own clients use this
server's store: store operations run here, and ``sql()``."""
