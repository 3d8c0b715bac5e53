"""Lidar multi-robot navigation (JaxNav task space): config, levels, Warp kernels, env, renderer.

Exports ``WORLD``, the world's descriptor for ``ada`` (see :mod:`envs_warp.core.world`).
"""
from .world import WORLD

__all__ = ["WORLD"]
