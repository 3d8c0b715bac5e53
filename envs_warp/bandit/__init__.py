"""A Bernoulli multi-armed bandit (RL²): hidden arm probabilities per level, one pull per trial.

Exports ``WORLD`` (see :mod:`envs_warp.core.world`). Success (``("agents", "best_arm")``) means the pull
chose an arm of the highest probability; the reward is the pull's payout. Trials
(``EnvConfig.trials``, K pulls per episode) make it a meta-RL task: a restart keeps the level.
"""
from ..core.world import World
from .env import BanditConfig, BanditEnv, held_out_levels, level_schema, random_levels
from .policies import UCB1, ThompsonSampling

WORLD = World(name="bandit", config=BanditConfig, env=BanditEnv, kernel_modules=("envs_warp.bandit.kernels",),
              success_key=("agents", "best_arm"),
              description="Bernoulli multi-armed bandit (RL²): hidden arm probabilities, one pull per trial",
              smoke_overrides={"n_arms": 3},
              random_levels=random_levels, held_out_levels=held_out_levels,
              baselines={"thompson": ThompsonSampling, "ucb1": UCB1})

__all__ = ["WORLD", "BanditConfig", "BanditEnv", "ThompsonSampling", "UCB1", "held_out_levels", "level_schema",
           "random_levels"]
