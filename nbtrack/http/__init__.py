"""What every nbtrack front end that listens on a port shares, knowing nothing of runs or models.

``settings``: who may call a server (loopback without a token, a token elsewhere, the Host
names it answers for) and its limits; ``guard``: those checks on every request, before an
endpoint, and the access log; ``connections``: deadlines and limits uvicorn leaves out;
``threaded``: uvicorn in a daemon thread on a socket bound first; ``errors``: MLflow's JSON
error shape. ``nbtrack serve`` uses them; so do ``nbtrack ui`` and ``nbtrack server``.
"""
