"""Projects: an MLproject's entry points, and notebooks as entry points, each run as one run.

``mlproject`` reads the file, ``parameters`` types the values, ``commands`` builds the argv,
``environments`` (with ``host_packages``) gets an interpreter ready, ``scripts`` runs a program
and ``notebooks`` a notebook, ``source`` names where the project comes from, and ``running``
puts them together as ``nbtrack.run_project`` and ``nbtrack run``.
"""
