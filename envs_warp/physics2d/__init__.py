"""2D rigid-body worlds (Kinetix / Jax2D task space): levels, Kinetix file reader, Warp simulator, env.

``level_table`` (the one table of level fields), ``levels`` (padded level records, capacities S/M/L,
builders), ``kinetix_format`` (Kinetix JSON reader), Warp kernels by pipeline stage around ``types``
(``collision``, ``contact_solve``, ``solver``, ``level_load``, ``task``, ``observations``), ``simulator`` (``Physics2DSim``,
the batched engine), ``env`` (``Physics2DEnv``). Exports ``WORLD``, the world's descriptor for ``ada`` (see :mod:`envs_warp.core.world`).
"""
from .world import WORLD

__all__ = ["WORLD"]
