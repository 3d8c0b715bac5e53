"""Shared by the bandit tests: a bandit run's config and a rollout that records the regret of every pull."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from tensordict import TensorDict

from ada import EnvConfig, PolicyConfig, PPOConfig, PPOModule, TrialConfig
from ada.evaluate import evaluation_model, seeded_rng
from ada.policy import RolloutPolicy
from ada.worlds import build_env, scripted_policy, with_memory


def bandit_module(n_arms: int, pulls: int, num_envs: int, total_env_steps: int, hidden: int = 32,
                  core: str = "gru", seed: int = 0, lr: float = 3e-3, ent_coef: float = 0.01, epochs: int = 4,
                  minibatches: int = 2) -> PPOModule:
    """PPO on the bandit with ``pulls`` one-pull trials per episode (RL²); one rollout = one episode per env."""
    env = EnvConfig(world="bandit", num_envs=num_envs, overrides={"n_arms": n_arms}, trials=TrialConfig(k_min=pulls, trial_index="fraction", trial_start=False))
    ppo = PPOConfig(rollout_len=pulls, total_env_steps=total_env_steps, epochs=epochs, minibatches=minibatches, lr=lr,
                    ent_coef=ent_coef, gamma=1.0, gae_lambda=0.95, lr_schedule="constant")
    return PPOModule(env=env, ppo=ppo, policy=PolicyConfig(core=core, hidden=hidden), seed=seed)


@torch.no_grad()
def pull_outcomes(env_cfg: EnvConfig, levels: TensorDict, attempts: int, policy: str | PPOModule,
                  seed: int = 1) -> dict[str, np.ndarray]:
    """One episode of K pulls per (level, attempt): ``regret`` (max p − p[arm]) and ``reward`` ``[L·attempts, K]``.

    ``policy``: a trained module (its model, sampling actions) or a scripted policy's name (``random``,
    ``thompson``, ``ucb1``). Reproducible from ``seed`` (the env's streams and torch's generator).
    """
    pulls = env_cfg.trials.k_min
    rows = levels.batch_size[0] * attempts
    with seeded_rng(seed, "cpu"):
        base = build_env(env_cfg, "cpu", seed=seed, num_envs=rows, random_levels=False)
        probs = levels["probs"].repeat_interleave(attempts, dim=0)  # [R, n_arms]
        base.set_levels(levels.repeat_interleave(attempts, dim=0))
        if isinstance(policy, str):
            env = with_memory(base, (1,))
            act: Callable = scripted_policy(policy, env, env_cfg)
            return _roll(env, act, probs, pulls)
        with evaluation_model(policy.model, "cpu") as net:
            env = with_memory(base, net.carried_memory_shape())
            return _roll(env, RolloutPolicy(net), probs, pulls)


def _roll(env, act: Callable, probs: torch.Tensor, pulls: int) -> dict[str, np.ndarray]:
    rows = probs.shape[0]
    regret, reward = torch.zeros(rows, pulls), torch.zeros(rows, pulls)
    best = probs.max(-1).values  # [R]
    td = env.reset()
    for t in range(pulls):
        td = env.step(act(td))
        arm = td["agents", "action"][:, 0]  # [R]
        regret[:, t] = best - probs.gather(1, arm[:, None])[:, 0]
        reward[:, t] = td["next", "agents", "reward"][:, 0, 0]
        assert bool(td["next", "done"].all()) == (t == pulls - 1), "an episode is exactly K pulls"
        td = env.step_mdp(td)
    return {"regret": regret.numpy(), "reward": reward.numpy()}
