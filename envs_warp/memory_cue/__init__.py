"""A pure-torch memory task (remember a cue shown once): a fixture for memory cores, and the smallest world.

Exports ``WORLD`` (see :mod:`envs_warp.core.world`); it has no levels and no Warp kernels.
"""
from ..core.world import World
from .env import MemoryCueConfig, MemoryCueEnv

WORLD = World(name="memory_cue", config=MemoryCueConfig, env=MemoryCueEnv,
              description="remember a one-hot cue shown at the first step; act on it at the last")

__all__ = ["WORLD", "MemoryCueConfig", "MemoryCueEnv"]
