"""Shared by the bandit tests: a bandit run's config, Thompson sampling and UCB1, and a rollout that records
the regret of every pull.

Thompson sampling and UCB1 live here, not in the world: they learn from each pull's reward, which a
scripted policy of the World protocol never sees (it acts on the TensorDict after ``step_mdp``, and
``ada eval`` builds it on a probe env), while this rollout hands them the reward of every pull.
"""
from __future__ import annotations

import abc
import math
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
    trials = TrialConfig(k_min=pulls, trial_index="fraction", trial_start=False)  # every pull starts a trial: no flag
    env = EnvConfig(world="bandit", num_envs=num_envs, overrides={"n_arms": n_arms}, trials=trials)
    ppo = PPOConfig(rollout_len=pulls, total_env_steps=total_env_steps, epochs=epochs, minibatches=minibatches, lr=lr,
                    ent_coef=ent_coef, gamma=1.0, gae_lambda=0.95, lr_schedule="constant")
    return PPOModule(env=env, ppo=ppo, policy=PolicyConfig(core=core, hidden=hidden), seed=seed)


class CountingBandit(abc.ABC):
    """Per-row pull counts and payouts of the running episode ``[R, n_arms]``; subclasses choose the arm."""

    def __init__(self, rows: int, n_arms: int) -> None:
        self.pulls = torch.zeros(rows, n_arms)  # [R, K] pulls of each arm this episode
        self.wins = torch.zeros(rows, n_arms)  # [R, K] payouts of each arm this episode

    def __call__(self, td: TensorDict) -> TensorDict:
        """Forget the rows starting an episode (``is_init``), choose an arm per row, write it as the action."""
        fresh = td.get("is_init").reshape(-1, 1)  # [R, 1]
        self.pulls.masked_fill_(fresh, 0.0)
        self.wins.masked_fill_(fresh, 0.0)
        td.set(("agents", "action"), self.choose().unsqueeze(-1))
        return td

    def learn(self, arm: torch.Tensor, reward: torch.Tensor) -> None:
        """Count the pull of ``arm`` ``[R]`` and its ``reward`` ``[R]`` (0 or 1)."""
        last = torch.nn.functional.one_hot(arm, self.pulls.shape[1]).float()  # [R, K]
        self.pulls += last
        self.wins += last * reward[:, None]

    @abc.abstractmethod
    def choose(self) -> torch.Tensor:
        """The arm ``[R]`` to pull next."""


class ThompsonSampling(CountingBandit):
    """Sample each arm's probability from its Beta(1 + wins, 1 + losses) posterior; pull the largest sample."""

    def choose(self) -> torch.Tensor:
        return torch.distributions.Beta(1.0 + self.wins, 1.0 + self.pulls - self.wins).sample().argmax(-1)


class UCB1(CountingBandit):
    """Auer et al. 2002: pull every arm once (lowest index first), then argmax mean + sqrt(2 ln t / pulls)."""

    def choose(self) -> torch.Tensor:
        t = self.pulls.sum(-1, keepdim=True).clamp(min=1.0)  # [R, 1] pulls so far
        tried = self.pulls.clamp(min=1.0)
        score = self.wins / tried + torch.sqrt(2.0 * torch.log(t) / tried)  # [R, K]
        return torch.where(self.pulls > 0, score, math.inf).argmax(-1)


BASELINES = {"thompson": ThompsonSampling, "ucb1": UCB1}


@torch.no_grad()
def pull_outcomes(env_cfg: EnvConfig, levels: TensorDict, attempts: int, policy: str | PPOModule,
                  seed: int = 1) -> dict[str, np.ndarray]:
    """One episode of K pulls per (level, attempt): ``regret`` (max p − p[arm]) and ``reward`` ``[L·attempts, K]``.

    ``policy``: a trained module (its model, sampling actions), ``random``, or a baseline of ``BASELINES``.
    Reproducible from ``seed`` (the env's streams and torch's generator).
    """
    pulls = env_cfg.trials.k_min
    rows = levels.batch_size[0] * attempts
    with seeded_rng(seed, "cpu"):
        base = build_env(env_cfg, "cpu", seed=seed, num_envs=rows, random_levels=False)
        probs = levels["probs"].repeat_interleave(attempts, dim=0)  # [R, n_arms]
        base.set_levels(levels.repeat_interleave(attempts, dim=0))
        if isinstance(policy, str):
            env = with_memory(base, (1,))
            act: Callable = (BASELINES[policy](rows, probs.shape[1]) if policy in BASELINES
                             else scripted_policy(policy, env, env_cfg))
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
        if isinstance(act, CountingBandit):
            act.learn(arm, reward[:, t])
        assert bool(td["next", "done"].all()) == (t == pulls - 1), "an episode is exactly K pulls"
        td = env.step_mdp(td)
    return {"regret": regret.numpy(), "reward": reward.numpy()}
