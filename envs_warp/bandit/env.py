"""A Bernoulli multi-armed bandit (RL², Duan et al. 2016): the unit case of meta-RL across trials.

A level is a vector of ``n_arms`` hidden success probabilities. The world's own episode is ``max_steps``
pulls (default 1: each pull is one trial); with ``EnvConfig.trials`` K trials of one level make an
episode of K pulls, and a restart (trial boundary) keeps the level's probabilities. The bandit has no
state: the observation ``[N, 1, 1]`` is only the fraction of the world's episode pulled so far
(``step_count / max_steps``), 0 at every decision with one-pull trials, so a policy learns only from the
trial inputs (previous action, previous reward) that ``ada.trials.TrialInputs`` appends.

Keys: ``("agents", "action")`` ``[N, 1]`` int64 in ``[0, n_arms)``; ``("agents", "reward")`` ``[N, 1, 1]``
1.0 when the pull paid out (probability ``probs[arm]``), else 0; the success flag
``("agents", "best_arm")`` ``[N, 1, 1]`` bool: the pull chose an arm of the highest probability (ties
count), so the success rate by trial index is the fraction of optimal pulls; root done keys ``[N, 1]``
(``terminated`` after ``max_steps`` pulls: a fixed horizon, nothing to bootstrap).

State (torch-owned, seen by the Warp kernels zero-copy): the level record ``probs`` ``[N, n_arms]``,
``pulls`` ``[N]`` (lifetime pull count: the pull's random stream), ``step_count`` ``[N]``, and the last
pull's ``reward`` / ``best`` ``[N]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import warp as wp
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Categorical, Composite, Unbounded

from ..core.env_base import AGENTS, WarpEnv, decode_random_tag
from ..core.levels import LevelField, LevelSchema
from ..core.warp_runtime import init_warp, warp_device
from . import kernels


@dataclass
class BanditConfig:
    """Arms, pulls per trial, the random-level probability range and the held-out set."""

    n_arms: int = 10
    max_steps: int = 1  # pulls per world episode (one trial); 1: every pull is a trial
    prob_low: float = 0.0  # random levels: probabilities uniform in [prob_low, prob_high] (RL²: [0, 1])
    prob_high: float = 1.0
    held_out_count: int = 64  # held-out levels: a fixed seeded draw of this many
    held_out_seed: int = 20_161_102

    def __post_init__(self) -> None:
        if self.n_arms < 2:
            raise ValueError(f"BanditConfig.n_arms must be >= 2, got {self.n_arms}")
        if self.max_steps < 1:
            raise ValueError(f"BanditConfig.max_steps must be >= 1, got {self.max_steps}")
        if not 0.0 <= self.prob_low <= self.prob_high <= 1.0:
            raise ValueError(f"BanditConfig.prob_low/prob_high must satisfy 0 <= low <= high <= 1, "
                             f"got {self.prob_low}, {self.prob_high}")
        if self.held_out_count < 1:
            raise ValueError(f"BanditConfig.held_out_count must be >= 1, got {self.held_out_count}")


def level_schema(cfg: BanditConfig) -> LevelSchema:
    """One field: the arms' success probabilities."""
    fields = (LevelField("probs", (cfg.n_arms,), torch.float32, 0.0, 1.0, "success probability of each arm"),)
    return LevelSchema(world="bandit", version=1, fields=fields)


def draw_levels(cfg: BanditConfig, probs: torch.Tensor, draw: torch.Tensor, seed: torch.Tensor,
                counter: torch.Tensor) -> None:
    """Overwrite the rows set in ``draw`` ``[k]`` of ``probs`` ``[k, n_arms]`` with the levels of (seed, counter)."""
    init_warp()
    wp.launch(kernels.generate_levels, dim=probs.shape[0], device=warp_device(probs.device),
              inputs=[wp.from_torch(seed.int().contiguous()), wp.from_torch(counter.int().contiguous()),
                      wp.from_torch(draw.contiguous(), dtype=wp.bool), float(cfg.prob_low), float(cfg.prob_high)],
              outputs=[wp.from_torch(probs)])


class BanditEnv(WarpEnv):
    """``N`` bandits; observation ``[N, 1, 1]`` (episode fraction pulled); discrete action ``[N, 1]`` (the arm)."""

    num_agents = 1

    def __init__(self, cfg: BanditConfig | None = None, num_envs: int = 64, device: torch.device | str = "cpu",
                 seed: int = 0, random_levels: bool = True) -> None:
        self.cfg = cfg or BanditConfig()
        self.level_schema = level_schema(self.cfg)
        super().__init__(num_envs=num_envs, device=device, seed=seed)
        self.random_levels = random_levels
        n, dev = num_envs, self.device
        i32 = dict(dtype=torch.int32, device=dev)
        self.pulls = torch.zeros(n, **i32)  # [N] pulls over the row's lifetime (the pull's random stream)
        self.step_count = torch.zeros(n, **i32)  # [N] pulls in this trial
        self.reward = torch.zeros(n, device=dev)  # [N] last pull's reward (0 or 1)
        self.best = torch.zeros(n, dtype=torch.bool, device=dev)  # [N] last pull chose a best arm
        self.terminated = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        self.action = torch.zeros(n, dtype=torch.int64, device=dev)  # [N]
        self._draw = torch.zeros(n, dtype=torch.bool, device=dev)  # [N] rows drawing a random level
        r = self.launcher.rows
        self._wp = dict(action=r(self.action), probs=r(self.levels["probs"]), seed=r(self.rng_seed),
                        counter=r(self.rng_counter), draw=r(self._draw, wp.bool), pulls=r(self.pulls),
                        step_count=r(self.step_count), reward=r(self.reward),
                        best=r(self.best, wp.bool), terminated=r(self.terminated, wp.bool))
        self._make_specs()
        self._add_level_id_spec()

    @classmethod
    def make_specs(cls, cfg: BanditConfig, num_envs: int, device: torch.device | str) -> dict[str, Composite]:
        """observation/action/reward/done specs of batch ``[num_envs]`` for ``cfg`` (no env built)."""
        n, dev = num_envs, torch.device(device)
        flag = lambda shape: Categorical(2, shape=shape, dtype=torch.bool, device=dev)  # noqa: E731
        return {
            "observation": Composite({AGENTS: Composite(observation=Unbounded(shape=(n, 1, 1), device=dev),
                                                        best_arm=flag((n, 1, 1)), shape=(n, 1))}, shape=(n,)),
            "action": Composite({AGENTS: Composite(
                action=Categorical(cfg.n_arms, shape=(n, 1), dtype=torch.int64, device=dev), shape=(n, 1))},
                shape=(n,)),
            "reward": Composite({AGENTS: Composite(reward=Unbounded(shape=(n, 1, 1), device=dev), shape=(n, 1))},
                                shape=(n,)),
            "done": Composite(done=flag((n, 1)), terminated=flag((n, 1)), truncated=flag((n, 1)), shape=(n,)),
        }

    # ------------------------------------------------------------------ levels
    def random_levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The random levels ``[k]`` that resets drew under negative ``tags`` ``[k]``."""
        seed, counter = decode_random_tag(tags.to(self.device))
        levels = self.level_schema.empty(tags.numel(), self.device)
        draw_levels(self.cfg, levels["probs"], torch.ones(tags.numel(), dtype=torch.bool, device=self.device),
                    seed, counter)
        return levels

    # ------------------------------------------------------------------ WarpEnv hooks
    def _reset_rows(self, mask: torch.Tensor) -> None:
        if self.random_levels:  # rows without an assigned (or kept, at a restart) level draw one
            s = self._wp
            self._draw.copy_(mask & ~self.level_pending)
            self.launcher.launch(kernels.generate_levels, (),
                                 inputs=[s["seed"], s["counter"], s["draw"], float(self.cfg.prob_low),
                                         float(self.cfg.prob_high)], outputs=[s["probs"]])
        keep = ~mask
        self.step_count.mul_(keep.int())
        self.terminated.logical_and_(keep)
        self.best.logical_and_(keep)

    def _advance(self, tensordict: TensorDictBase) -> None:
        self.action.copy_(tensordict.get((AGENTS, "action")).view(-1))
        s = self._wp
        self.launcher.launch(kernels.pull, (), inputs=[s["action"], s["probs"], s["seed"], int(self.cfg.max_steps)],
                             outputs=[s["pulls"], s["step_count"], s["reward"], s["best"], s["terminated"]])

    def _observe(self, reset: bool) -> TensorDictBase:
        n = self.num_envs
        pulled = (self.step_count.float() / self.cfg.max_steps).view(n, 1, 1)  # [N, A, 1] episode fraction pulled
        agents = {"observation": pulled, "best_arm": self.best.view(n, 1, 1).clone()}
        if not reset:
            agents["reward"] = self.reward.view(n, 1, 1).clone()
        terminated = self.terminated.view(n, 1).clone()
        return TensorDict({AGENTS: TensorDict(agents, batch_size=(n, 1), device=self.device), "terminated": terminated,
                           "truncated": torch.zeros_like(terminated), "done": terminated.clone()},
                          batch_size=(n,), device=self.device)


def random_levels(cfg: BanditConfig, n: int, seed: int, device: torch.device | str = "cpu") -> TensorDict:
    """``n`` random levels ``[n]`` (probabilities uniform in ``[prob_low, prob_high]``), reproducible from ``seed``."""
    device = torch.device(device)
    levels = level_schema(cfg).empty(n, device)
    seeds = torch.full((n,), seed & 0x7FFFFFFF, dtype=torch.int32, device=device)
    counter = torch.arange(n, dtype=torch.int32, device=device)
    draw_levels(cfg, levels["probs"], torch.ones(n, dtype=torch.bool, device=device), seeds, counter)
    return levels


def held_out_levels(cfg: BanditConfig) -> tuple[TensorDict, list[str]]:
    """The fixed evaluation set: ``held_out_count`` random levels drawn from ``held_out_seed`` (never a run's seed)."""
    levels = random_levels(cfg, cfg.held_out_count, cfg.held_out_seed, "cpu")
    return levels, [f"held_out_{i:03d}" for i in range(cfg.held_out_count)]
