"""2D rigid-body worlds (Kinetix / Jax2D task space): levels, Kinetix file reader, Warp simulator.

``levels`` (padded level records, capacities S/M/L, builders), ``kinetix_format`` (Kinetix JSON
reader), ``kernels`` (Warp kernels), ``simulator`` (``Physics2DSim``, the batched engine).
"""
