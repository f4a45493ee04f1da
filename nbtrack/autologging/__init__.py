"""Autolog: a framework's ``fit`` becomes a run without a line of logging code.

One module per framework (``sklearn`` first), imported only when autolog is turned on;
``switch.autolog`` turns them on and off, ``options`` holds what was asked for, ``runs`` decides
which run a fit logs to, ``guard`` tells a top-level fit from the fits it makes inside,
``snapshot`` and ``worker`` take a fit's logging off the path of ``fit``.
"""
