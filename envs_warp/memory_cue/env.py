"""A pure-torch batched memory task (a test fixture for memory cores): remember a cue shown once.

Each episode is a corridor of ``length`` steps. At the first step the observation shows a cue (one of
``num_cues``, one-hot); afterwards the cue slot is zero. The action only matters at the last step:
reward 1 (and ``reached_goal``) iff it equals the cue, then the episode terminates. A memory-less
policy can do no better than chance (``1 / num_cues``); a policy with memory solves it.

Keys follow the Warp worlds: ``("agents", "observation")`` ``[N, A, C + 2]`` = (cue one-hot, time
fraction ``t / (length - 1)``, last-step flag); ``("agents", "action")`` ``[N, A]`` int64;
``("agents", "reward")`` / ``("agents", "reached_goal")`` ``[N, A, 1]``; root done keys ``[N, 1]``.
Cues come from a counter-based hash of (per-row seed, reset count), so a run is reproducible and its
state is a handful of ``[N]`` tensors (``runtime_state``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

AGENTS = "agents"
_M32 = 0xFFFFFFFF


@dataclass
class MemoryCueConfig:
    """Corridor length (steps per episode), number of cues (= actions) and robots per env."""

    length: int = 8
    num_cues: int = 2
    num_agents: int = 1

    @property
    def obs_dim(self) -> int:
        """Observation length: cue one-hot, time fraction, last-step flag."""
        return self.num_cues + 2

    @property
    def max_steps(self) -> int:
        """Episode limit (the corridor's length)."""
        return self.length


def _hash(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """32-bit integer hash of two int64 tensors (wrapping arithmetic, deterministic on every device)."""
    z = (a * 0x9E3779B1 + b * 0x85EBCA77 + 0x165667B1) & _M32
    z = ((z ^ (z >> 15)) * 0x2C1B3C6D) & _M32
    z = ((z ^ (z >> 12)) * 0x297A2D39) & _M32
    return z ^ (z >> 15)


class MemoryCueEnv(EnvBase):
    """``N`` corridors at once; masked resets through the root ``"_reset"`` entry."""

    batch_locked = True

    def __init__(self, cfg: MemoryCueConfig | None = None, num_envs: int = 64, device: torch.device | str = "cpu",
                 seed: int = 0) -> None:
        super().__init__(device=torch.device(device), batch_size=torch.Size([num_envs]))
        self.cfg = cfg or MemoryCueConfig()
        if self.cfg.length < 2 or self.cfg.num_cues < 2:
            raise ValueError("MemoryCueConfig: length and num_cues must be >= 2")
        self.num_envs = n = num_envs
        a, dev = self.cfg.num_agents, self.device
        self.rng_seed = torch.zeros(n, dtype=torch.int64, device=dev)  # [N]
        self.rng_counter = torch.zeros(n, dtype=torch.int64, device=dev)  # [N] resets so far
        self.step_count = torch.zeros(n, dtype=torch.int64, device=dev)  # [N]
        self.cue = torch.zeros(n, a, dtype=torch.int64, device=dev)  # [N, A]
        self._set_seed(seed)
        specs = self.make_specs(self.cfg, n, dev)
        self.observation_spec, self.action_spec = specs["observation"], specs["action"]
        self.reward_spec, self.done_spec = specs["reward"], specs["done"]

    @classmethod
    def make_specs(cls, cfg: MemoryCueConfig, num_envs: int, device: torch.device | str) -> dict[str, Composite]:
        """observation/action/reward/done specs of batch ``[num_envs]`` for ``cfg``."""
        n, a, dev = num_envs, cfg.num_agents, torch.device(device)
        flag = lambda shape: Categorical(2, shape=shape, dtype=torch.bool, device=dev)
        return {
            "observation": Composite(
                {AGENTS: Composite(observation=Unbounded(shape=(n, a, cfg.obs_dim), device=dev),
                                   reached_goal=flag((n, a, 1)), shape=(n, a))}, shape=(n,)),
            "action": Composite(
                {AGENTS: Composite(action=Categorical(cfg.num_cues, shape=(n, a), dtype=torch.int64, device=dev),
                                   shape=(n, a))}, shape=(n,)),
            "reward": Composite({AGENTS: Composite(reward=Unbounded(shape=(n, a, 1), device=dev), shape=(n, a))},
                                shape=(n,)),
            "done": Composite(done=flag((n, 1)), terminated=flag((n, 1)), truncated=flag((n, 1)), shape=(n,)),
        }

    # ------------------------------------------------------------------ state (exact resume)
    def runtime_state(self) -> dict[str, torch.Tensor]:
        """Every per-row tensor of the live state (no copies)."""
        return {"rng_seed": self.rng_seed, "rng_counter": self.rng_counter, "step_count": self.step_count,
                "cue": self.cue}

    def load_runtime_state(self, state: dict[str, torch.Tensor]) -> None:
        """Copy a ``runtime_state()`` back in place."""
        for key, target in self.runtime_state().items():
            target.copy_(state[key])

    # ------------------------------------------------------------------ TorchRL hooks
    def _set_seed(self, seed: int | None) -> None:
        seed = 0 if seed is None else int(seed)
        rows = torch.arange(self.num_envs, dtype=torch.int64, device=self.device)
        self.rng_seed.copy_(_hash(torch.full_like(rows, seed & _M32), rows))
        self.rng_counter.zero_()

    def _observation(self, reached: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        first = (self.step_count == 0)[:, None, None]  # [N, 1, 1]
        cue = torch.nn.functional.one_hot(self.cue, cfg.num_cues).float() * first  # [N, A, C]
        t = (self.step_count.float() / (cfg.length - 1))[:, None, None].expand(-1, cfg.num_agents, 1)
        last = (self.step_count == cfg.length - 1).float()[:, None, None].expand(-1, cfg.num_agents, 1)
        return {"observation": torch.cat([cue, t, last], dim=-1), "reached_goal": reached}

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs) -> TensorDictBase:
        n, a = self.num_envs, self.cfg.num_agents
        flag = None if tensordict is None else tensordict.get("_reset", None)
        mask = torch.ones(n, dtype=torch.bool, device=self.device) if flag is None else flag.reshape(n, -1).any(-1)
        agent = torch.arange(a, device=self.device)[None]  # [1, A]
        fresh = _hash(self.rng_seed[:, None], self.rng_counter[:, None] * 64 + agent) % self.cfg.num_cues  # [N, A]
        self.cue = torch.where(mask[:, None], fresh, self.cue)
        self.step_count.masked_fill_(mask, 0)
        self.rng_counter.add_(mask.long())
        zeros = torch.zeros(n, 1, dtype=torch.bool, device=self.device)
        agents = TensorDict(self._observation(torch.zeros(n, a, 1, dtype=torch.bool, device=self.device)),
                            batch_size=(n, a), device=self.device)
        return TensorDict({AGENTS: agents, "done": zeros, "terminated": zeros.clone(), "truncated": zeros.clone()},
                          batch_size=(n,), device=self.device)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        n, a = self.num_envs, self.cfg.num_agents
        action = tensordict.get((AGENTS, "action"))  # [N, A]
        last = (self.step_count == self.cfg.length - 1)[:, None]  # [N, 1]
        correct = (action == self.cue) & last  # [N, A]
        self.step_count.add_(1)
        agents = self._observation(correct.unsqueeze(-1))
        agents["reward"] = correct.float().unsqueeze(-1)
        return TensorDict({AGENTS: TensorDict(agents, batch_size=(n, a), device=self.device),
                           "done": last.clone(), "terminated": last.clone(),
                           "truncated": torch.zeros_like(last)}, batch_size=(n,), device=self.device)
