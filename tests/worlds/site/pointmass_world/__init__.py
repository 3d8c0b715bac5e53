"""A point mass that drives to a goal: the smallest Warp world, defined outside ada (a test fixture).

It is registered the way an outside user would register a world: the ``ada.worlds`` entry point of
an installed distribution (``pointmass_world-0.1.dist-info/entry_points.txt`` beside this package).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import warp as wp
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded

from envs_warp.core.env_base import AGENTS, WarpEnv, decode_random_tag
from envs_warp.core.levels import LevelField, LevelSchema
from envs_warp.core.world import World

from . import kernels


@dataclass
class PointMassConfig:
    """Arena half-width [m], goal radius [m], speed [m/s], step [s] and episode limit."""

    arena: float = 1.0
    goal_radius: float = 0.25
    speed: float = 1.0
    dt: float = 0.1
    max_steps: int = 40


def level_schema(cfg: PointMassConfig) -> LevelSchema:
    """Start and goal of the mass, inside the arena."""
    fields = (LevelField("start", (2,), torch.float32, -cfg.arena, cfg.arena, "start position [m]"),
              LevelField("goal", (2,), torch.float32, -cfg.arena, cfg.arena, "goal position [m]"))
    return LevelSchema(world="pointmass", version=1, fields=fields)


class PointMassEnv(WarpEnv):
    """``N`` point masses; observation = goal − position ``[N, 1, 2]``; continuous velocity action ``[N, 1, 2]``."""

    num_agents = 1

    def __init__(self, cfg: PointMassConfig | None = None, num_envs: int = 16, device: torch.device | str = "cpu",
                 seed: int = 0, random_levels: bool = True) -> None:
        self.cfg = cfg or PointMassConfig()
        self.level_schema = level_schema(self.cfg)
        super().__init__(num_envs=num_envs, device=device, seed=seed)
        self.random_levels = random_levels
        n, dev = num_envs, self.device
        self.pos = torch.zeros(n, 1, 2, device=dev)  # [N, A, 2] [m]
        self.step_count = torch.zeros(n, dtype=torch.int32, device=dev)  # [N]
        self.reached = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        self.reward = torch.zeros(n, device=dev)  # [N]
        self.terminated = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        self.truncated = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        self.obs = torch.zeros(n, 2, device=dev)  # [N, 2] goal - position [m]
        self.action = torch.zeros(n, 2, device=dev)  # [N, 2]
        self.draw_mask = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        specs = self.make_specs(self.cfg, n, dev)
        self.observation_spec, self.action_spec = specs["observation"], specs["action"]
        self.reward_spec, self.done_spec = specs["reward"], specs["done"]
        self._add_level_id_spec()

    @classmethod
    def make_specs(cls, cfg: PointMassConfig, num_envs: int, device) -> dict[str, Composite]:
        """observation/action/reward/done specs of batch ``[num_envs]``."""
        n, dev = num_envs, device
        flag = lambda shape: Categorical(2, shape=shape, dtype=torch.bool, device=dev)
        return {
            "observation": Composite({AGENTS: Composite(observation=Unbounded(shape=(n, 1, 2), device=dev),
                                                        reached_goal=flag((n, 1, 1)), shape=(n, 1))}, shape=(n,)),
            "action": Composite({AGENTS: Composite(action=Bounded(-1.0, 1.0, shape=(n, 1, 2), device=dev),
                                                   shape=(n, 1))}, shape=(n,)),
            "reward": Composite({AGENTS: Composite(reward=Unbounded(shape=(n, 1, 1), device=dev), shape=(n, 1))},
                                shape=(n,)),
            "done": Composite(done=flag((n, 1)), terminated=flag((n, 1)), truncated=flag((n, 1)), shape=(n,)),
        }

    def _view(self, t: torch.Tensor, dtype=None):
        return wp.from_torch(t, dtype=dtype) if dtype is not None else wp.from_torch(t)

    def _draw_levels(self, levels: TensorDict, draw: torch.Tensor, seed: torch.Tensor, counter: torch.Tensor) -> None:
        wp.launch(kernels.generate_levels, dim=draw.shape[0], device=self.wp_device,
                  inputs=[self._view(seed), self._view(counter), self._view(draw, wp.bool), self.cfg.arena],
                  outputs=[self._view(levels["start"], wp.vec2), self._view(levels["goal"], wp.vec2)])

    def _reset_rows(self, mask: torch.Tensor) -> None:
        if self.random_levels:
            self.draw_mask.copy_(mask & ~self.level_pending)
            self._draw_levels(self.levels, self.draw_mask, self.rng_seed, self.rng_counter)
        wp.launch(kernels.reset_rows, dim=self.num_envs, device=self.wp_device,
                  inputs=[self._view(mask.contiguous(), wp.bool), self._view(self.levels["start"], wp.vec2),
                          self._view(self.levels["goal"], wp.vec2), self.cfg.goal_radius],
                  outputs=[self._view(self.pos.view(-1, 2), wp.vec2), self._view(self.step_count),
                           self._view(self.reached, wp.bool), self._view(self.obs)])
        self.terminated.logical_and_(~mask)
        self.truncated.logical_and_(~mask)

    def _advance(self, tensordict: TensorDictBase) -> None:
        self.action.copy_(tensordict.get((AGENTS, "action")).view(-1, 2))
        c = self.cfg
        wp.launch(kernels.step, dim=self.num_envs, device=self.wp_device,
                  inputs=[self._view(self.action), self._view(self.levels["goal"], wp.vec2), c.dt, c.speed,
                          c.goal_radius, c.max_steps],
                  outputs=[self._view(self.pos.view(-1, 2), wp.vec2), self._view(self.step_count),
                           self._view(self.reached, wp.bool), self._view(self.reward),
                           self._view(self.terminated, wp.bool), self._view(self.truncated, wp.bool),
                           self._view(self.obs)])

    def _observe(self, reset: bool) -> TensorDictBase:
        n = self.num_envs
        agents = {"observation": self.obs.clone().unsqueeze(1), "reached_goal": self.reached.view(n, 1, 1).clone()}
        if not reset:
            agents["reward"] = self.reward.view(n, 1, 1).clone()
        terminated, truncated = self.terminated.view(n, 1).clone(), self.truncated.view(n, 1).clone()
        return TensorDict({AGENTS: TensorDict(agents, batch_size=(n, 1), device=self.device), "terminated": terminated,
                           "truncated": truncated, "done": terminated | truncated}, batch_size=(n,), device=self.device)

    def random_levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The random levels ``[k]`` that resets drew under negative ``tags``."""
        seed, counter = decode_random_tag(tags.to(self.device))
        levels = self.level_schema.empty(tags.numel(), self.device)
        draw = torch.ones(tags.numel(), dtype=torch.bool, device=self.device)
        self._draw_levels(levels, draw, seed.contiguous(), counter.contiguous())
        return levels

    def noop_action(self) -> torch.Tensor:
        """Stand still."""
        return torch.zeros(self.num_envs, 1, 2, device=self.device)


def random_levels(cfg: PointMassConfig, n: int, seed: int, device) -> TensorDict:
    """``n`` random levels reproducible from ``seed`` (the reset distribution)."""
    env_seed = torch.full((n,), seed & 0x7FFFFFFF, dtype=torch.int32, device=device)
    counter = torch.arange(n, dtype=torch.int32, device=device)
    probe = PointMassEnv(cfg, num_envs=1, device=device, random_levels=False)
    levels = probe.level_schema.empty(n, device)
    probe._draw_levels(levels, torch.ones(n, dtype=torch.bool, device=device), env_seed, counter)
    return levels


def draw_row(env: PointMassEnv, row: int, trails=None, px: int = 64) -> np.ndarray:
    """A ``[px, px, 3]`` picture: goal in green, mass in blue, trail in grey."""
    img = np.full((px, px, 3), 255, dtype=np.uint8)
    a = env.cfg.arena
    to_px = lambda p: (int((a - p[1]) / (2 * a) * (px - 1)), int((p[0] + a) / (2 * a) * (px - 1)))
    for trail in trails or []:
        for p in np.asarray(trail):
            y, x = np.clip(to_px(p), 0, px - 1)
            img[y, x] = (160, 160, 160)
    y, x = np.clip(to_px(env.levels["goal"][row].cpu().numpy()), 1, px - 2)
    img[y - 1:y + 2, x - 1:x + 2] = (0, 180, 0)
    y, x = np.clip(to_px(env.pos[row, 0].cpu().numpy()), 1, px - 2)
    img[y - 1:y + 2, x - 1:x + 2] = (0, 0, 220)
    return img


WORLD = World(name="pointmass", config=PointMassConfig, env=PointMassEnv, kernel_modules=("pointmass_world.kernels",),
              description="a point mass driving to a goal (test fixture)", random_levels=random_levels,
              draw_row=draw_row, agent_positions=lambda env: env.pos)
