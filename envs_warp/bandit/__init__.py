"""A Bernoulli multi-armed bandit (RL²): hidden arm probabilities per level, one pull per trial.

Exports ``WORLD`` (see :mod:`envs_warp.core.world`). Success (``("agents", "best_arm")``) means the pull
chose an arm of the highest probability; the reward is the pull's payout. Trials
(``EnvConfig.trials``, K pulls per episode) make it a meta-RL task: a restart keeps the level.
Thompson sampling and UCB1, which learn from every pull's reward, are in ``tests/bandit/helpers.py``: a
scripted policy of the World protocol acts on the step's TensorDict without the reward.
"""
from ..core.world import World
from .env import BanditConfig, BanditEnv, held_out_levels, level_schema, random_levels

WORLD = World(name="bandit", config=BanditConfig, env=BanditEnv, kernel_modules=("envs_warp.bandit.kernels",),
              success_key=("agents", "best_arm"),
              description="Bernoulli multi-armed bandit (RL²): hidden arm probabilities, one pull per trial",
              smoke_overrides={"n_arms": 3},
              random_levels=random_levels, held_out_levels=held_out_levels)

__all__ = ["WORLD", "BanditConfig", "BanditEnv", "held_out_levels", "level_schema", "random_levels"]
