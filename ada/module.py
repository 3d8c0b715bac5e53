"""``PPOModule``: PPO over a batched Warp world, as a Lightning module with manual optimisation.

One Lightning *epoch* is one PPO iteration: collect ``num_envs × rollout_len`` steps per rank with a
TorchRL ``Collector``, compute GAE, then ``epochs × minibatches`` clipped-PPO updates over whole
recurrent sequences. The env and the collector live outside the module tree (``self.rt``); their
state, the episode trackers and every RNG are written into checkpoints, so a resumed run continues
exactly where it stopped.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import LightningModule
from tensordict import TensorDictBase
from torch.utils.data import DataLoader, Dataset
from torchrl.collectors import Collector

from curricula import CurriculumConfig, LevelSampler, LevelStats, build_sampler
from envs_warp.core.env_base import LEVEL_ID, WarpEnv
from models.actor_critic import ActorCritic, PolicyConfig

from .config import EnvConfig, PPOConfig, fingerprint
from .curriculum import WorldContext
from .policy import ACTION_KEY, LOGP_KEY, OBS_KEY, VALUE_KEY, RolloutPolicy
from .ppo import entropy_bonus, gae, normalize, policy_loss, value_loss
from .worlds import MEMORY_KEY, build_env, describe, with_memory


class NonFiniteError(FloatingPointError):
    """A NaN or inf appeared in observations, rewards or losses."""


class CheckpointMismatchError(ValueError):
    """A checkpoint written by a run with an incompatible configuration."""


class _OneItem(Dataset):
    """Lightning wants a dataloader; each epoch (one PPO iteration) draws this single item."""

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> int:
        return i


@dataclass
class Runtime:
    """Per-rank objects kept outside the module tree: the env, its collector and episode trackers."""

    base_env: Any
    collector: Collector
    iterator: Any
    running_return: torch.Tensor  # [N] return of the episode in progress (mean over robots)
    running_length: torch.Tensor  # [N]
    policy: RolloutPolicy | None = None  # owns the live memory cache of cached-memory cores
    rollout_cache: torch.Tensor | None = None  # [N·A, ...] the cache as it was when this rollout began
    sampler: LevelSampler | None = None  # the curriculum feeding levels to this rank's env at resets


# Config fields that change shapes or semantics of saved state; others (lr, steps, ...) may change on resume.
STRUCTURAL = ("env.world", "env.num_envs", "env.overrides", "policy.", "ppo.rollout_len", "curriculum.")


class PPOModule(LightningModule):
    """Actor-critic + PPO losses; the env and collector are built per rank at the start of training."""

    def __init__(self, env: EnvConfig | None = None, ppo: PPOConfig | None = None,
                 policy: PolicyConfig | None = None, seed: int = 0,
                 curriculum: CurriculumConfig | None = None) -> None:
        super().__init__()
        self.env_cfg = env or EnvConfig()
        self.ppo_cfg = ppo or PPOConfig()
        self.policy_cfg = policy or PolicyConfig()
        self.curriculum_cfg = curriculum or CurriculumConfig()
        self.seed = seed
        self.save_hyperparameters({"env": asdict(self.env_cfg), "ppo": asdict(self.ppo_cfg),
                                   "policy": asdict(self.policy_cfg), "seed": seed,
                                   "curriculum": asdict(self.curriculum_cfg)})
        self.automatic_optimization = False
        obs_dim, action_space, self.num_agents = describe(self.env_cfg)
        with torch.random.fork_rng(devices=[]):  # initial weights depend on the run's seed only
            torch.manual_seed(seed)
            self.model = ActorCritic(obs_dim, action_space, self.policy_cfg)
        self.register_buffer("env_steps", torch.zeros((), dtype=torch.long))
        self.rt: Runtime | None = None
        self._restore: dict | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def frames_per_iteration(self) -> int:
        """Env steps per iteration on this rank."""
        return self.env_cfg.num_envs * self.ppo_cfg.rollout_len

    def num_iterations(self, world_size: int = 1) -> int:
        """PPO iterations needed for ``total_env_steps`` over all ranks."""
        return max(1, math.ceil(self.ppo_cfg.total_env_steps / (self.frames_per_iteration * world_size)))

    def config_fingerprint(self) -> dict[str, Any]:
        """The structural config a checkpoint must match."""
        flat = fingerprint(env=self.env_cfg, policy=self.policy_cfg, ppo=self.ppo_cfg, curriculum=self.curriculum_cfg)
        return {k: v for k, v in flat.items() if any(k.startswith(s) for s in STRUCTURAL)}

    # ------------------------------------------------------------------ Lightning plumbing
    def train_dataloader(self) -> DataLoader:
        # its own generator: a DataLoader iterator otherwise draws from the global RNG every epoch
        return DataLoader(_OneItem(), batch_size=None, shuffle=False, generator=torch.Generator())

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.model.parameters(), lr=self.ppo_cfg.lr, eps=1e-5)
        total = self.num_iterations(self.trainer.world_size if self._trainer else 1)
        kind = self.ppo_cfg.lr_schedule
        if kind == "constant":
            fn = lambda it: 1.0
        elif kind == "linear":
            fn = lambda it: max(0.0, 1.0 - it / total)
        else:
            fn = lambda it: 0.5 * (1.0 + math.cos(math.pi * min(it, total) / total))
        return [opt], [{"scheduler": torch.optim.lr_scheduler.LambdaLR(opt, fn), "interval": "epoch"}]

    def on_train_start(self) -> None:
        """Build this rank's env and collector on the training device, then apply a pending resume."""
        rank = self.global_rank
        if self._restore is None:
            _seed_all(self.seed + 1000 * rank)
        base = build_env(self.env_cfg, self.device, seed=self.seed + 1000 * rank)
        sampler = build_sampler(self.curriculum_cfg, seed=self.seed)
        if sampler is not None:
            if not isinstance(base, WarpEnv):
                raise ValueError(f"curriculum.method {self.curriculum_cfg.method!r} needs a world with levels, "
                                 f"not {self.env_cfg.world!r}")
            world = self.trainer.world_size if self._trainer else 1
            sampler.bind(WorldContext(self, base, self.device, rank, world))
            base.level_source = sampler.on_reset  # before the collector's first reset
        env = with_memory(base, self.model.carried_memory_shape())
        policy = RolloutPolicy(self.model)
        collector = Collector(env, policy, frames_per_batch=self.frames_per_iteration,
                              total_frames=-1, device=self.device, trust_policy=True)
        n = self.env_cfg.num_envs
        self.rt = Runtime(base, collector, None, torch.zeros(n, device=self.device), torch.zeros(n, device=self.device),
                          policy, sampler=sampler)
        if self.model.cached_memory:
            policy.ensure_cache(n * self.num_agents, self.device)
        if self._restore is not None:
            self._apply_restore(self._restore)
            self._restore = None
        self.rt.iterator = iter(collector)

    def on_train_end(self) -> None:
        if self.rt is not None:
            self.rt.collector.shutdown()

    # ------------------------------------------------------------------ one PPO iteration
    def training_step(self, batch: Any, batch_idx: int) -> None:
        cfg = self.ppo_cfg
        sampler = self.rt.sampler
        t0 = time.perf_counter()
        curriculum_log = sampler.before_rollout(self.current_epoch) if sampler is not None else {}
        t_curriculum = time.perf_counter() - t0  # [s] spent in the curriculum this iteration
        t0 += t_curriculum
        if self.model.cached_memory:  # the window's initial memory: the live cache before this rollout
            self.rt.rollout_cache = self.rt.policy.memory()
        data = next(self.rt.iterator)  # [N, T]
        self._check_finite(data, ("next", *OBS_KEY), "observation")
        self._check_finite(data, ("next", "agents", "reward"), "reward")
        t1 = time.perf_counter()
        seq = self._sequences(data)
        if sampler is not None:
            grad_mask = sampler.train_mask(data.get(LEVEL_ID)[..., 0])  # [N, T] or None
            if grad_mask is not None:
                seq["train_mask"] = grad_mask.unsqueeze(1).expand(-1, self.num_agents, -1).flatten(0, 1)
        stats = self._update(seq)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        self.lr_schedulers().step()
        frames = self.frames_per_iteration * self.trainer.world_size
        self.env_steps += frames
        episodes, episode_return, episode_success = self._episode_stats(data)
        if sampler is not None:
            t3 = time.perf_counter()
            curriculum_log.update(sampler.update(self._level_stats(data, seq, episode_return, episode_success)))
            t_curriculum += time.perf_counter() - t3
            curriculum_log["perf/curriculum_share"] = t_curriculum / (t2 - t0 + t_curriculum)
        log = dict(sync_dist=True, on_step=False, on_epoch=True, batch_size=1)
        # collection + update (the curriculum's own time is perf/curriculum_share of the whole)
        self.log("perf/env_steps_per_s", frames / (t2 - t0), prog_bar=True, **log)
        if sampler is not None:
            self.log("perf/env_steps_per_s_with_curriculum", frames / (t2 - t0 + t_curriculum), **log)
        self.log("perf/collect_share", (t1 - t0) / (t2 - t0), **log)
        self.log("env_steps", self.env_steps.float(), **log)
        self.log("lr", self.optimizers().param_groups[0]["lr"], **log)
        for k, v in stats.items():
            self.log(f"loss/{k}", v, **log)
        for k, (total, count) in episodes.items():
            self.log(f"train/{k}", total / count.clamp(min=1), prog_bar=k in ("return", "success"), **log)
        self.log("train/episodes", episodes["return"][1].float(), reduce_fx="sum", sync_dist=True, on_step=False, on_epoch=True, batch_size=1)
        for k, v in curriculum_log.items():
            self.log(k, float(v), **log)

    def _level_stats(self, data: TensorDictBase, seq: dict[str, torch.Tensor], episode_return: torch.Tensor,
                     success: torch.Tensor) -> LevelStats:
        """Per-level sums of this rollout for the curriculum (robots averaged per env step)."""
        n, t = data.batch_size
        per_env = lambda x: x.view(n, self.num_agents, t).mean(1)  # [N·A, T] -> [N, T]
        return LevelStats.from_rollout(data.get(LEVEL_ID)[..., 0], per_env(seq["advantage"]), per_env(seq["value"]),
                                       data.get(("next", "done"))[..., 0], success, episode_return)

    def _sequences(self, data: TensorDictBase) -> dict[str, torch.Tensor]:
        """Fold robots into the batch (``[N, T, A, ...] -> [N·A, T, ...]``) and add advantages and targets."""
        n, t = data.batch_size
        a = self.num_agents
        fold = lambda x: x.transpose(1, 2).flatten(0, 1)
        per_robot = lambda x: x.expand(n, t, a)  # root [N, T, 1] -> [N, T, A]
        seq = {
            "obs": fold(data.get(OBS_KEY)),
            "action": fold(data.get(ACTION_KEY)),
            "log_prob": fold(data.get(LOGP_KEY)),
            "value": fold(data.get(VALUE_KEY)),
            "memory": data.get(MEMORY_KEY)[:, 0].flatten(0, 1),
            "is_init": fold(per_robot(data.get("is_init"))),
        }
        reward = fold(data.get(("next", "agents", "reward"))[..., 0])
        done = fold(per_robot(data.get(("next", "done"))))
        terminated = fold(per_robot(data.get(("next", "terminated"))))
        next_obs = fold(data.get(("next", *OBS_KEY)))
        if self.model.cached_memory:
            seq["memory"] = self.rt.rollout_cache.float()  # [N·A, L+1, M, D]
            with torch.no_grad():  # next states as extra queries of the rollout window (same memory)
                next_value = self.model.sequence_with_next_values(seq["obs"], next_obs, seq["memory"], seq["is_init"])
        else:
            with torch.no_grad():  # value of every next state, from the memory the policy carried into it
                next_mem = fold(data.get(("next", *MEMORY_KEY)))
                no_reset = torch.zeros(next_obs.shape[0] * t, dtype=torch.bool, device=self.device)
                _, next_value, _ = self.model.step(next_obs.flatten(0, 1), next_mem.flatten(0, 1), no_reset)
        seq["advantage"], seq["target"] = gae(reward, seq["value"], next_value.view(-1, t), done, terminated,
                                              self.ppo_cfg.gamma, self.ppo_cfg.gae_lambda)
        return seq

    def _update(self, seq: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Epochs of minibatch updates over whole sequences; returns mean loss statistics."""
        cfg = self.ppo_cfg
        opt = self.optimizers()
        batch = seq["obs"].shape[0]
        mb = max(1, batch // cfg.minibatches)
        sums: dict[str, torch.Tensor] = {}
        updates = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(batch, device=self.device)
            for start in range(0, batch - mb + 1, mb):
                idx = perm[start : start + mb]
                mask = seq["train_mask"][idx] if "train_mask" in seq else None  # [mb, T] steps that take a gradient
                dist, value = self.model.sequence(seq["obs"][idx], seq["memory"][idx], seq["is_init"][idx])
                adv = seq["advantage"][idx]
                if cfg.normalize_advantages:
                    adv = normalize(adv, mask=mask)
                pl, kl, clip_frac = policy_loss(dist.log_prob(seq["action"][idx]), seq["log_prob"][idx], adv, cfg.clip_eps,
                                                mask=mask)
                vl = value_loss(value, seq["value"][idx], seq["target"][idx], cfg.value_clip, mask=mask)
                ent = entropy_bonus(dist.entropy(), mask=mask)
                loss = pl + cfg.vf_coef * vl - cfg.ent_coef * ent
                terms = {"policy": pl, "value": vl, "entropy": ent}
                bad = [k for k, v in terms.items() if not torch.isfinite(v)]
                if bad:
                    self._abort_nonfinite(f"{bad[0]} loss", seq)
                opt.zero_grad(set_to_none=True)
                self.manual_backward(loss)
                grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                opt.step()
                for k, v in {**terms, "approx_kl": kl, "clip_frac": clip_frac, "grad_norm": grad_norm}.items():
                    sums[k] = sums.get(k, 0.0) + v.detach()
                updates += 1
        return {k: v / updates for k, v in sums.items()}

    def _episode_stats(self, data: TensorDictBase) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], torch.Tensor,
                                                             torch.Tensor]:
        """(sum, count) of returns, lengths and successes of episodes that ended in this rollout, plus each
        finished episode's return and success at its last step ``[N, T]`` (0 / False elsewhere)."""
        rt = self.rt
        reward = data.get(("next", "agents", "reward"))[..., 0].mean(-1)  # [N, T]
        done = data.get(("next", "done"))[..., 0]  # [N, T]
        success = data.get(("next", "agents", "reached_goal"))[..., 0].all(-1) & done  # [N, T]
        ret_sum = torch.zeros((), device=self.device)
        len_sum = torch.zeros((), device=self.device)
        episode_return = torch.zeros_like(reward)  # [N, T]
        for step in range(reward.shape[1]):
            rt.running_return += reward[:, step]
            rt.running_length += 1
            d = done[:, step]
            episode_return[:, step] = rt.running_return * d
            ret_sum += (rt.running_return * d).sum()
            len_sum += (rt.running_length * d).sum()
            rt.running_return *= ~d
            rt.running_length *= ~d
        count = done.sum()
        stats = {"return": (ret_sum, count), "length": (len_sum, count), "success": (success.sum().float(), count)}
        return stats, episode_return, success

    # ------------------------------------------------------------------ non-finite guard
    def _check_finite(self, data: TensorDictBase, key: tuple, name: str) -> None:
        if not torch.isfinite(data.get(key)).all():
            self._abort_nonfinite(name, {"rollout": data.cpu()})

    def _abort_nonfinite(self, quantity: str, payload: Any) -> None:
        """Save the offending data and the parameters under the run's ``debug/`` folder, then stop."""
        iteration = self.current_epoch
        root = Path(self.trainer.default_root_dir if self._trainer else ".") / "debug"
        root.mkdir(parents=True, exist_ok=True)
        path = root / f"nonfinite_rank{self.global_rank}_iter{iteration}.pt"
        torch.save({"quantity": quantity, "iteration": iteration, "env_steps": int(self.env_steps),
                    "model": self.model.state_dict(), "data": payload}, path)
        raise NonFiniteError(f"non-finite {quantity} at iteration {iteration} (env step {int(self.env_steps)}); "
                             f"debug data saved to {path}")

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["ada_config"] = self.config_fingerprint()
        state = self._runtime_state() if self.rt is not None else None
        world = self.trainer.world_size if self._trainer else 1
        if world > 1 and state is not None:
            gathered: list[Any] = [None] * world
            torch.distributed.all_gather_object(gathered, state)
            checkpoint["ada_runtime"] = gathered
        else:
            checkpoint["ada_runtime"] = [state]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get("ada_config")
        if saved is None:
            raise CheckpointMismatchError("checkpoint has no 'ada_config': not written by ada's PPOModule")
        ours = self.config_fingerprint()
        if not any(k.startswith("curriculum.") for k in saved):  # written before curricula existed: uniform
            saved = {**saved, **{k: v for k, v in fingerprint(curriculum=CurriculumConfig()).items()}}
        diffs = [f"{k}: checkpoint {saved.get(k)!r} vs config {ours.get(k)!r}"
                 for k in sorted(set(saved) | set(ours)) if saved.get(k) != ours.get(k)]
        if diffs:
            raise CheckpointMismatchError("checkpoint is incompatible with this config:\n  " + "\n  ".join(diffs))
        runtimes = checkpoint.get("ada_runtime") or [None]
        rank = self.global_rank if self._trainer else 0
        if len(runtimes) != (self.trainer.world_size if self._trainer else 1):
            raise CheckpointMismatchError(f"checkpoint holds {len(runtimes)} ranks' env state, this run has "
                                          f"{self.trainer.world_size if self._trainer else 1} ranks")
        self._restore = runtimes[rank]

    def _runtime_state(self) -> dict[str, Any]:
        rt = self.rt
        carrier = rt.collector._carrier  # the collector's current step (observations and memory)
        return {
            "env": {k: v.detach().cpu().clone() for k, v in rt.base_env.runtime_state().items()},
            "carrier": carrier.detach().cpu().clone(),
            "running_return": rt.running_return.cpu().clone(),
            "running_length": rt.running_length.cpu().clone(),
            "rng": _rng_state(),
            "cache": None if rt.policy.cache is None else rt.policy.cache.detach().cpu().clone(),
            "cache_head": rt.policy.head,
            "curriculum": None if rt.sampler is None else rt.sampler.state_dict(),
        }

    def _apply_restore(self, state: dict[str, Any] | None) -> None:
        if state is None:
            return
        rt = self.rt
        rt.base_env.load_runtime_state({k: v.to(self.device) for k, v in state["env"].items()})
        rt.collector._carrier.update_(state["carrier"].to(self.device))
        rt.running_return.copy_(state["running_return"])
        rt.running_length.copy_(state["running_length"])
        _set_rng_state(state["rng"])
        if state.get("cache") is not None:
            rt.policy.cache = state["cache"].to(self.device)
            rt.policy.head = state["cache_head"]
        if rt.sampler is not None:
            rt.sampler.load_state_dict(state["curriculum"])


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
