"""The smoke scripts are programs that a support-matrix row runs on its own
stack (noxfile.py), not pytest modules: never collected, not even for
doctests."""

collect_ignore_glob = ["*.py"]
