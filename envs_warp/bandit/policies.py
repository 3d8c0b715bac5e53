"""Scripted bandit baselines: Thompson sampling and UCB1, learning within each episode from its pulls.

Both see what the agent sees: their own previous arm and its reward (read from the env's last pull,
``env.arm`` / ``env.reward`` ``[N]``), and ``is_init`` (a new episode: a new level, counts forgotten).
They keep per-row counts ``[N, n_arms]`` and work on any batch the env runs, on its device, without host
syncs. Random draws (Thompson's posterior samples) come from torch's global generator.
"""
from __future__ import annotations

import math

import torch
from tensordict import TensorDictBase

from ..core.env_base import AGENTS
from .env import BanditConfig, BanditEnv


class _Counting:
    """Per-row pull counts and payouts of the running episode ``[N, n_arms]``, updated from the env's last pull."""

    def __init__(self, cfg: BanditConfig, env: BanditEnv) -> None:
        self.env = env
        n, k, dev = env.num_envs, cfg.n_arms, env.device
        self.pulls = torch.zeros(n, k, device=dev)  # [N, K] pulls of each arm this episode
        self.wins = torch.zeros(n, k, device=dev)  # [N, K] payouts of each arm this episode

    def observe(self, td: TensorDictBase) -> None:
        """Add the env's last pull to the counts; forget everything in rows starting an episode (``is_init``)."""
        fresh = td.get("is_init").reshape(-1, 1)  # [N, 1]
        last = torch.nn.functional.one_hot(self.env.arm, self.pulls.shape[1]).float()  # [N, K]
        self.pulls.copy_(torch.where(fresh, 0.0, self.pulls + last))
        self.wins.copy_(torch.where(fresh, 0.0, self.wins + last * self.env.reward[:, None]))

    def act(self, td: TensorDictBase, arm: torch.Tensor) -> TensorDictBase:
        """Write ``arm`` ``[N]`` as the action."""
        td.set((AGENTS, "action"), arm.unsqueeze(-1))
        return td


class ThompsonSampling(_Counting):
    """Sample each arm's probability from its Beta(1 + wins, 1 + losses) posterior; pull the largest sample."""

    def __call__(self, td: TensorDictBase) -> TensorDictBase:
        self.observe(td)
        sample = torch.distributions.Beta(1.0 + self.wins, 1.0 + self.pulls - self.wins).sample()  # [N, K]
        return self.act(td, sample.argmax(-1))


class UCB1(_Counting):
    """Auer et al. 2002: pull every arm once, then the arm maximising mean + sqrt(2 ln t / pulls)."""

    def __call__(self, td: TensorDictBase) -> TensorDictBase:
        self.observe(td)
        t = self.pulls.sum(-1, keepdim=True).clamp(min=1.0)  # [N, 1] pulls so far
        tried = self.pulls.clamp(min=1.0)
        score = self.wins / tried + torch.sqrt(2.0 * torch.log(t) / tried)  # [N, K]
        score = torch.where(self.pulls > 0, score, math.inf)  # untried arms first (the lowest index)
        return self.act(td, score.argmax(-1))
