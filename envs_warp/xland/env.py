"""``XLandEnv``: XLand-MiniGrid's rules-and-goals task space as a batched TorchRL env over Warp kernels.

Keys (batch ``[N]``; the one agent under ``"agents"`` with batch ``[N, 1]``):
``("agents", "observation")`` ``[N, 1, D]`` float (view, direction, pocket, optional goal and rules;
see :mod:`envs_warp.xland.observations`); ``("agents", "action")`` ``[N, 1]`` int64 in ``[0, 6)``;
``("agents", "reward")`` ``[N, 1, 1]`` (``1 − 0.9·t/T`` on success); ``("agents", "reached_goal")``
``[N, 1, 1]``; root ``done``/``terminated``/``truncated`` ``[N, 1]``.

Levels are rulesets (:mod:`envs_warp.xland.rulesets`). With ``random_levels`` a reset row without an
assigned level draws one: from the on-device generator of ``cfg.benchmark``'s preset, or uniformly from
the ruleset file ``cfg.benchmark`` names; either way (seed, reset counter) names it (its tag). Rooms,
doors, objects and the agent are re-placed at every reset.

Examples:
    >>> env = XLandEnv(XLandConfig(layout="R4", height=13, width=13, benchmark="small"), num_envs=1024)
    >>> td = env.reset()                          # ("agents", "observation"): [1024, 1, 654]
    >>> _, td = env.step_and_maybe_reset(env.rand_action(td))
"""
from __future__ import annotations

import torch
import warp as wp
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Categorical, Composite, Unbounded

from ..core.env_base import AGENTS, WarpEnv, decode_random_tag
from ..core.launch import RowArray
from . import layout as layout_kernels
from . import step as step_kernels
from .config import XLandConfig, obs_layout
from .constants import NUM_ACTIONS, TURN_LEFT
from .generator import RulesetBank, RulesetGenerator
from .observations import ObsLayout
from .rulesets import level_schema, load_rulesets

LAYOUT_CODES = {"R1": 1, "R2": 2, "R4": 4, "R6": 6, "R9": 9}


def obs_struct(cfg: XLandConfig) -> ObsLayout:
    """The kernels' view of :func:`obs_layout`."""
    lay = obs_layout(cfg)
    s = ObsLayout()
    for name in ("onehot", "view", "view_off", "dir_off", "pocket_off", "goal_off", "rules_off", "max_rules"):
        setattr(s, name, int(lay[name]))
    return s


class XLandEnv(WarpEnv):
    """N XLand-MiniGrid worlds (one agent each) stepped by one Warp thread per env."""

    num_agents = 1

    def __init__(self, cfg: XLandConfig | None = None, num_envs: int = 64, device: torch.device | str = "cpu",
                 seed: int = 0, random_levels: bool = True) -> None:
        self.cfg = cfg or XLandConfig()
        self.level_schema = level_schema(self.cfg)
        super().__init__(num_envs=num_envs, device=device, seed=seed)
        self.random_levels = random_levels
        self.rules_cap, self.tiles_cap = self.cfg.capacities()
        preset = self.cfg.generator_preset
        if preset is not None:
            self.draw = RulesetGenerator(preset, self.rules_cap, self.device, self.cfg.hidden_rule_prob)
        else:
            self.draw = RulesetBank(load_rulesets(self.cfg.benchmark, self.cfg), self.device, self.cfg.hidden_rule_prob)
        self._alloc_state()
        specs = self.make_specs(self.cfg, num_envs, self.device)
        self.observation_spec, self.action_spec = specs["observation"], specs["action"]
        self.reward_spec, self.done_spec = specs["reward"], specs["done"]
        self._add_level_id_spec()

    # ------------------------------------------------------------------ allocation
    def _alloc_state(self) -> None:
        n, dev, cfg = self.num_envs, self.device, self.cfg
        i32 = dict(dtype=torch.int32, device=dev)
        self.grid = torch.zeros(n, cfg.height, cfg.width, dtype=torch.uint8, device=dev)  # [N, H, W] tile<<4|colour
        self.pos = torch.zeros(n, 2, **i32)  # [N, 2] agent cell (y, x)
        self.direction = torch.zeros(n, **i32)  # [N] 0 up, 1 right, 2 down, 3 left
        self.pocket = torch.zeros(n, **i32)  # [N] carried tile (packed; 0 empty)
        self.step_count = torch.zeros(n, **i32)  # [N]
        self.goal_code = torch.zeros(n, 5, **i32)  # [N, 5] (id, a, b, y, x) of the running ruleset
        self.rule_code = torch.zeros(n, self.rules_cap, 4, **i32)  # [N, R, 4] (id, a, b, c)
        self.rule_count = torch.zeros(n, **i32)  # [N]
        self.fired = torch.zeros(n, **i32)  # [N] rules that fired at the last step
        self.obs = torch.zeros(n, self.cfg.obs_dim, dtype=torch.float32, device=dev)  # [N, D]
        self.reward = torch.zeros(n, dtype=torch.float32, device=dev)  # [N]
        self.terminated = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        self.truncated = torch.zeros(n, dtype=torch.bool, device=dev)  # [N]
        self.action = torch.zeros(n, dtype=torch.int64, device=dev)  # [N]
        self._rows = torch.zeros(n, dtype=torch.bool, device=dev)  # [N] rows a reset launch works on
        self._rng = torch.zeros(n, dtype=torch.int32, device=dev)  # [N] reset scratch (uint32 RNG state)
        r = self.launcher.rows
        lv = self.levels
        self._wp = dict(
            rows=r(self._rows, wp.bool), seed=r(self.rng_seed), counter=r(self.rng_counter), rng=r(self._rng, wp.uint32),
            goal=r(lv["goal"]), rules=r(lv["rules"]), num_rules=r(lv["num_rules"]), init_tiles=r(lv["init_tiles"]),
            rule_hidden=r(lv["rule_hidden"]), grid=r(self.grid), pos=r(self.pos), direction=r(self.direction),
            pocket=r(self.pocket), step_count=r(self.step_count), goal_code=r(self.goal_code),
            rule_code=r(self.rule_code), rule_count=r(self.rule_count), fired=r(self.fired), obs=r(self.obs),
            reward=r(self.reward), terminated=r(self.terminated, wp.bool), truncated=r(self.truncated, wp.bool),
            action=r(self.action),
        )
        self._level_views = self.draw.row_views(self.draw.launcher_for(n), self.levels, self.rng_seed, self.rng_counter)
        self.reset_params = layout_kernels.ResetParams()
        self.reset_params.layout = LAYOUT_CODES[self.cfg.layout]
        self.reset_params.obs = obs_struct(self.cfg)
        self.step_params = step_kernels.StepParams()
        self.step_params.max_steps = self.cfg.max_steps
        self.step_params.obs = obs_struct(self.cfg)
        self._alloc_autoreset()

    def _alloc_autoreset(self) -> None:
        """Arguments of the one-launch kernels: ``draw_and_reset`` (resets) and ``step_autoreset``."""
        n, dev, r = self.num_envs, self.device, self.launcher.rows
        self._level_src = layout_kernels.LevelSource()
        self._level_src.gen = self.draw.params
        self._sync_level_source()
        bank = getattr(self.draw, "bank", None)
        if bank is None:  # unused placeholders of the bank's shapes
            bank = self.level_schema.empty(1, dev)
        self._gen_rng = torch.zeros(n, dtype=torch.int32, device=dev)  # [N] generator RNG scratch (uint32)
        self._gen_work = torch.zeros(n, self.draw.work_cols, dtype=torch.int32, device=dev)  # [N, W] generator scratch
        s = self._wp
        s["level_pending"], s["level_id"] = r(self.level_pending, wp.bool), r(self.level_id)
        self._bank_views = [wp.from_torch(bank[k].contiguous()) for k in ("goal", "rules", "num_rules", "init_tiles")]
        cold = dict(seed=s["seed"], counter=s["counter"], level_pending=s["level_pending"], level_id=s["level_id"],
                    rng=s["rng"], gen_rng=r(self._gen_rng, wp.uint32), work=r(self._gen_work),
                    **dict(zip(("bank_goal", "bank_rules", "bank_num", "bank_tiles"), self._bank_views)),
                    **{k: s[k] for k in ("goal", "rules", "num_rules", "init_tiles", "rule_hidden")})
        self._cold_views = cold  # the struct elements below hold raw pointers: keep their arrays alive
        chunks = []
        for c in range(len(self.launcher.bounds)):
            arrays = layout_kernels.ResetArrays()
            for key, value in cold.items():
                setattr(arrays, key, value.chunks[c] if isinstance(value, RowArray) else value)
            chunks.append(wp.array([arrays], dtype=layout_kernels.ResetArrays, device=self.wp_device))
        s["cold"] = RowArray(None, tuple(chunks))  # type: ignore[arg-type]  # [1] per chunk
        state = [s["grid"], s["pos"], s["direction"], s["pocket"], s["step_count"], s["goal_code"], s["rule_code"],
                 s["rule_count"], s["obs"]]
        self._reset_args = [s["rows"], s["cold"], *state]
        self._autoreset_args = [
            s["goal_code"], s["rule_code"], s["rule_count"], s["grid"], s["pos"], s["direction"], s["pocket"],
            s["step_count"], s["reward"], s["terminated"], s["truncated"], s["fired"], s["obs"], s["cold"]]
        self._recorded: dict = {}  # kernel name -> RecordedLaunch (packed once, on first use)

    def _launch_recorded(self, name: str) -> None:
        """Replay the recorded launch ``name`` ("step", "reset" or "autoreset"), recording it on first use."""
        cmd = self._recorded.get(name)
        if cmd is None:
            s = self._wp
            if name == "step":
                cmd = self.launcher.record(
                    step_kernels.step, (), inputs=[self.step_params, s["action"], s["goal_code"], s["rule_code"],
                                                   s["rule_count"]],
                    outputs=[s["grid"], s["pos"], s["direction"], s["pocket"], s["step_count"], s["reward"],
                             s["terminated"], s["truncated"], s["fired"], s["obs"]])
            elif name == "reset":
                cmd = self.launcher.record(layout_kernels.draw_and_reset, (),
                                           inputs=[self.reset_params, self._level_src], outputs=self._reset_args)
            else:
                cmd = self.launcher.record(step_kernels.step_autoreset, (), inputs=[
                    self.step_params, self.reset_params, self._level_src, s["action"]], outputs=self._autoreset_args)
            self._recorded[name] = cmd
        cmd.launch()

    def _sync_level_source(self) -> None:
        """Where reset rows get their next level: kept, the generator or the bank (``random_levels`` may change)."""
        source = (layout_kernels.SOURCE_KEPT if not self.random_levels else
                  layout_kernels.SOURCE_BANK if isinstance(self.draw, RulesetBank) else layout_kernels.SOURCE_GENERATOR)
        if self._level_src.source != source:
            self._level_src.source = source

    @classmethod
    def make_specs(cls, cfg: XLandConfig, num_envs: int, device: torch.device | str) -> dict[str, Composite]:
        """observation/action/reward/done specs of batch ``[num_envs]`` for ``cfg`` (no env built)."""
        n, dev = num_envs, torch.device(device)
        flag = lambda shape: Categorical(2, shape=shape, dtype=torch.bool, device=dev)  # noqa: E731
        return {
            "observation": Composite({AGENTS: Composite(
                observation=Unbounded(shape=(n, 1, cfg.obs_dim), dtype=torch.float32, device=dev),
                reached_goal=flag((n, 1, 1)), shape=(n, 1))}, shape=(n,)),
            "action": Composite({AGENTS: Composite(
                action=Categorical(NUM_ACTIONS, shape=(n, 1), dtype=torch.int64, device=dev), shape=(n, 1))}, shape=(n,)),
            "reward": Composite({AGENTS: Composite(
                reward=Unbounded(shape=(n, 1, 1), dtype=torch.float32, device=dev), shape=(n, 1))}, shape=(n,)),
            "done": Composite(done=flag((n, 1)), terminated=flag((n, 1)), truncated=flag((n, 1)), shape=(n,)),
        }

    # ------------------------------------------------------------------ levels
    def _draw_levels(self, levels: TensorDict, mask: torch.Tensor, seed: torch.Tensor, counter: torch.Tensor,
                     views: dict | None = None) -> None:
        """Overwrite the masked rows of ``levels`` with the random rulesets of (seed, counter)."""
        self.draw.generate_into(levels, mask, seed, counter, views=views)

    def random_levels_from_tags(self, tags: torch.Tensor) -> TensorDict:
        """The random levels ``[k]`` that resets drew under negative ``tags`` ``[k]``."""
        seed, counter = decode_random_tag(tags.to(self.device))
        levels = self.level_schema.empty(tags.numel(), self.device)
        mask = torch.ones(tags.numel(), dtype=torch.bool, device=self.device)
        self._draw_levels(levels, mask, seed.contiguous(), counter.contiguous())
        return levels

    # ------------------------------------------------------------------ WarpEnv hooks
    def _launch_step(self) -> None:
        """The step kernel over every row (actions in ``self.action``)."""
        self._launch_recorded("step")

    def _launch_reset(self, mask: torch.Tensor) -> None:
        """One launch: a random level for the masked rows without an assigned one, then their reset."""
        self._sync_level_source()
        self._rows.copy_(mask)
        self._launch_recorded("reset")

    def _reset_rows(self, mask: torch.Tensor) -> None:
        self._launch_reset(mask)
        keep = ~mask
        self.terminated.logical_and_(keep)
        self.truncated.logical_and_(keep)
        self.reward.mul_(keep)
        self.fired.mul_(keep)

    def _advance(self, tensordict: TensorDictBase) -> None:
        self.action.copy_(tensordict.get((AGENTS, "action")).view(-1))
        self._launch_step()

    def step_autoreset(self, action: torch.Tensor) -> None:
        """Step every row with ``action`` ``[N]`` and reset finished rows in place, without TorchRL.

        Afterwards ``reward``/``terminated``/``truncated`` hold the step's outcome and ``obs`` the next
        observation (the first one of the new episode for rows that finished: gym-style auto-reset).
        Level tags and counters advance as in a TorchRL reset; curricula (``level_source``) are not
        consulted. For benchmarks and custom loops.
        """
        self.action.copy_(action)
        self._sync_level_source()
        self._launch_recorded("autoreset")

    def _observe(self, reset: bool) -> TensorDictBase:
        n, dev = self.num_envs, self.device
        terminated, truncated = self.terminated.view(n, 1).clone(), self.truncated.view(n, 1).clone()  # [N, 1]
        agents = {"observation": self.obs.unsqueeze(1).clone(), "reached_goal": terminated.unsqueeze(-1).clone()}
        if not reset:
            agents["reward"] = self.reward.view(n, 1, 1).clone()
        # every entry is a fresh tensor of the batch shape built here, so TensorDict's per-entry checks are skipped
        return TensorDict._new_unsafe({AGENTS: TensorDict._new_unsafe(agents, batch_size=(n, 1), device=dev),
                                       "terminated": terminated, "truncated": truncated, "done": terminated | truncated},
                                      batch_size=(n,), device=dev)

    # ------------------------------------------------------------------ helpers
    def noop_action(self) -> torch.Tensor:
        """``[N, 1]`` the do-nothing action (turn left: it moves nothing, fires no rule, completes no tile goal)."""
        return torch.full((self.num_envs, 1), TURN_LEFT, dtype=torch.int64, device=self.device)

    def agent_xy(self) -> torch.Tensor:
        """``[N, 1, 2]`` agent cell centres (x, y) with y up, in cells (for trails in pictures)."""
        y, x = self.pos[:, 0].float(), self.pos[:, 1].float()
        return torch.stack([x + 0.5, self.cfg.height - y - 0.5], dim=-1).unsqueeze(1)

    def unpacked_grid(self) -> torch.Tensor:
        """``[N, H, W, 2]`` uint8 (tile, colour) of every row, XLand-MiniGrid's grid layout."""
        return torch.stack([self.grid >> 4, self.grid & 15], dim=-1)
