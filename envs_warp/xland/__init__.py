"""XLand-MiniGrid's task space (grid rooms, goals and hidden production rules) as Warp kernels.

Exports ``WORLD``, the world's descriptor for ``ada`` (see :mod:`envs_warp.core.world`).
"""
from .world import WORLD

__all__ = ["WORLD"]
