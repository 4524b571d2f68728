"""`xla_flops.py` is the script test_flops.py runs in a JAX process: no tests of
its own, and imported by `--doctest-modules` it would need JAX in every pass
(the torch pass runs without it). Never collected."""

collect_ignore = ["xla_flops.py"]
