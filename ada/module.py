"""``PPOModule``: PPO over a batched Warp world, as a Lightning module with manual optimisation.

One Lightning *epoch* is one PPO iteration, read top to bottom in ``training_step``:
collect (TorchRL ``Collector``, ``[N, T]``) → advantages (robots folded into sequences ``[N·A]``, GAE)
→ update (``epochs × minibatches`` steps of the summed loss modules) → curriculum → log.
The env, collector, memory cache, curriculum and RNGs live outside the module tree in one
:class:`~ada.runtime.RunState` (``self.rt``), checkpointed per rank, so a resumed run continues exactly.
``ppo.total_env_steps`` sets the number of iterations and the LR schedule; a trainer without its own
``max_epochs``/``max_steps`` stops there (``trainer.should_stop``); an explicit ``max_epochs`` wins.
``trainer.save_checkpoint(path)`` works during and after ``fit``; resume with ``trainer.fit(module, ckpt_path=path)``:
the runtime state is stored as tensors and plain containers, so the file loads with ``weights_only=True``.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from lightning import LightningModule
from lightning.pytorch.utilities import rank_zero_warn
from tensordict import TensorDictBase
from torch import nn
from torch.utils.data import DataLoader, Dataset

from curricula import CurriculumConfig, build_sampler
from envs_warp.core.env_base import LEVEL_ID
from models.actor_critic import ActorCritic, PolicyConfig

from .advantages import rollout_sequences
from .config import EnvConfig, PPOConfig, TrialConfig, fingerprint
from .curriculum import level_stats
from .kickstart import KickstartConfig, kickstart_parts
from .losses import LossModule, PolicyOutput, PPOLoss, combine
from .policy import OBS_KEY
from .policy_inputs import model_inputs, observation_config
from .runtime import RunState, tensordict_to_plain
from .trial_log import TrialLog
from .worlds import describe, nonfinite_key, require_for_run, success_key


class NonFiniteError(FloatingPointError):
    """A NaN or inf appeared in observations, rewards or losses."""


class CheckpointMismatchError(ValueError):
    """A checkpoint written by a run with an incompatible configuration."""


def _plain(data: Any) -> Any:
    """TensorDicts (also inside dicts) as ``{key tuple: CPU tensor}``, for a file that loads as data only."""
    if isinstance(data, TensorDictBase):
        return tensordict_to_plain(data)
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    return data


class _Stopwatch:
    """Wall-clock seconds per named phase of one iteration."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[phase] += time.perf_counter() - start


class _OneItem(Dataset):
    """Lightning wants a dataloader; each epoch (one PPO iteration) draws this single item."""

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> int:
        return i


# Config fields that change shapes or semantics of saved state; others (lr, steps, ...) may change on resume.
STRUCTURAL = ("env.world", "env.num_envs", "env.overrides", "env.trials", "policy.", "ppo.rollout_len", "curriculum.")
# What Lightning reports for a trainer given neither max_epochs nor max_steps (or max_epochs=-1).
_UNSET_EPOCHS = (None, -1, 1000)


class PPOModule(LightningModule):
    """Actor-critic trained by PPO (plus any ``extra_losses``); the runtime is built per rank at train start.

    ``kickstart`` (:class:`~ada.kickstart.KickstartConfig`) adds distillation from frozen teachers and/or periodic
    resets of the last layers; the teachers stay out of the module's weights and checkpoints.

    Examples:
        >>> module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=16),
        ...                    ppo=PPOConfig(rollout_len=16, total_env_steps=1024))
        >>> Trainer(logger=False).fit(module)  # 4 iterations of 16 × 16 env steps, then stops
        >>> int(module.env_steps)
        1024
    """

    def __init__(self, env: EnvConfig | None = None, ppo: PPOConfig | None = None,
                 policy: PolicyConfig | None = None, seed: int = 0,
                 curriculum: CurriculumConfig | None = None,
                 extra_losses: Sequence[LossModule] | None = None,
                 kickstart: KickstartConfig | None = None) -> None:
        super().__init__()
        self.ppo_cfg = ppo or PPOConfig()
        self.policy_cfg = policy or PolicyConfig()
        self.env_cfg = observation_config(env or EnvConfig(), self.policy_cfg)  # the view the policy reads
        self.curriculum_cfg = curriculum or CurriculumConfig()
        self.seed = seed
        self.kickstart_cfg = kickstart  # teachers and layer resets (ada.kickstart); None: off
        hparams = {"env": asdict(self.env_cfg), "ppo": asdict(self.ppo_cfg), "policy": asdict(self.policy_cfg),
                   "seed": seed, "curriculum": asdict(self.curriculum_cfg)}
        if kickstart is not None:  # kept for the record; load_module builds the student alone (no teacher)
            hparams["kickstart"] = asdict(kickstart)
        self.save_hyperparameters(hparams)
        self.automatic_optimization = False
        # refuse now, not after training, a run that needs a capability its world lacks
        require_for_run(self.env_cfg, self.curriculum_cfg.required_capabilities())
        obs_dim, action_space, self.num_agents = describe(self.env_cfg)
        layout = model_inputs(self.env_cfg, self.policy_cfg)[1]  # entity encoder: how the observation is packed
        with torch.random.fork_rng(devices=[]):  # initial weights depend on the run's seed only
            torch.manual_seed(seed)
            self.model = ActorCritic(obs_dim, action_space, self.policy_cfg, layout)
        distill, self.layer_reset = kickstart_parts(kickstart, obs_dim, action_space, self.policy_cfg, seed)
        self.losses = nn.ModuleList([PPOLoss(self.ppo_cfg), *(extra_losses or []), *distill])
        self.register_buffer("env_steps", torch.zeros((), dtype=torch.long))
        self.rt: RunState | None = None
        self.trial_log: TrialLog | None = None  # statistics by trial index (meta-RL trials on)
        self._restore: dict | None = None
        self._stop_at_budget = False  # the trainer has no epoch limit of its own: stop at total_env_steps

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

    def _world_size(self) -> int:
        """Ranks of the attached trainer (1 without one)."""
        try:
            return self.trainer.world_size
        except RuntimeError:  # not attached to a Trainer
            return 1

    # ------------------------------------------------------------------ Lightning plumbing
    def train_dataloader(self) -> DataLoader:
        # its own generator: a DataLoader iterator otherwise draws from the global RNG every epoch
        return DataLoader(_OneItem(), batch_size=None, shuffle=False, generator=torch.Generator())

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.model.parameters(), lr=self.ppo_cfg.lr, eps=1e-5)
        total = self.num_iterations(self._world_size())
        kind = self.ppo_cfg.lr_schedule
        if kind == "constant":
            fn = lambda it: 1.0
        elif kind == "linear":
            fn = lambda it: max(0.0, 1.0 - it / total)
        else:
            fn = lambda it: 0.5 * (1.0 + math.cos(math.pi * min(it, total) / total))
        return [opt], [{"scheduler": torch.optim.lr_scheduler.LambdaLR(opt, fn), "interval": "epoch"}]

    def on_train_start(self) -> None:
        """Build this rank's runtime (env, collector, curriculum) on the training device; apply a pending resume."""
        trainer, world = self.trainer, self._world_size()
        self._stop_at_budget = trainer.max_epochs in _UNSET_EPOCHS and trainer.max_steps == -1
        budget = self.num_iterations(world)
        if not self._stop_at_budget and trainer.max_epochs is not None and trainer.max_epochs > budget \
                and self.ppo_cfg.lr_schedule != "constant":
            rank_zero_warn(f"max_epochs={trainer.max_epochs} runs past the {budget} iterations of "
                           f"ppo.total_env_steps={self.ppo_cfg.total_env_steps}: the {self.ppo_cfg.lr_schedule} LR "
                           f"schedule has reached its end value by then")
        sampler = build_sampler(self.curriculum_cfg, seed=self.seed)
        self.trial_log = self._make_trial_log()
        self.rt = RunState(self.env_cfg, self.model, self.frames_per_iteration, self.device, seed=self.seed,
                           rank=self.global_rank, world_size=world, sampler=sampler,
                           parts={**{f"losses.{i}": loss for i, loss in enumerate(self.losses)},
                                  **({"trial_log": self.trial_log} if self.trial_log is not None else {})})
        if self._restore is not None:
            self.rt.load_state_dict(self._restore)
            self._restore = None

    def on_train_end(self) -> None:
        if self.rt is not None:
            self.rt.close()

    # ------------------------------------------------------------------ one PPO iteration
    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One PPO iteration: collect → advantages → update → curriculum → log."""
        clock = _Stopwatch()
        with clock("curriculum"):
            curriculum_log = self.curriculum_before_rollout()  # SFL refresh, ACCEL mutants
        with clock("collect"):
            data = self.collect()  # [N, T]
        with clock("update"):
            seq = self.advantages(data)  # [N·A] sequences of T steps, with advantage and target
            metrics = self.update(seq)  # loss terms and metrics, averaged over the optimiser steps
            if self.device.type == "cuda":
                torch.cuda.synchronize()
        before = int(self.env_steps)
        self.env_steps += self.frames_per_iteration * self._world_size()
        if self.layer_reset is not None:  # Nikishin et al.'s resets of the last layers, at their env-step marks
            self.layer_reset.after_iteration(self.model, self.optimizers().optimizer, before, int(self.env_steps))
        episodes, episode_return, success = self.rt.episodes(data)  # [N, T] per finished episode
        episodes, success = self.trial_outcomes(data, episodes, success)  # by trial index, when trials are on
        with clock("curriculum"):
            curriculum_log.update(self.curriculum_update(data, seq, episode_return, success))
        self.log_iteration(metrics, episodes, curriculum_log, clock.seconds)
        if self._stop_at_budget and int(self.env_steps) >= self.ppo_cfg.total_env_steps:
            self.trainer.should_stop = True

    def collect(self) -> TensorDictBase:
        """The next rollout ``[N, T]`` of this rank's envs, checked for non-finite observations and rewards."""
        data = self.rt.collect()
        self.check_finite(data, ("next", *OBS_KEY), "observation")
        self.check_finite(data, ("next", "agents", "reward"), "reward")
        self.check_world_health(data)
        return data

    def advantages(self, data: TensorDictBase) -> TensorDictBase:
        """Sequences ``[N·A]`` with advantages and value targets (see ``rollout_sequences``), plus robust PLR's
        ``train_mask [N·A, T]`` when the curriculum trains on some steps only."""
        cfg = self.ppo_cfg
        seq = rollout_sequences(data, self.model, self.num_agents, self.rt.window_memory, cfg.gamma, cfg.gae_lambda)
        if self.rt.sampler is not None:
            grad_mask = self.rt.sampler.train_mask(data.get(LEVEL_ID)[..., 0])  # [N, T] or None
            if grad_mask is not None:
                seq["train_mask"] = grad_mask.unsqueeze(1).expand(-1, self.num_agents, -1).flatten(0, 1)
        return seq

    def update(self, seq: TensorDictBase) -> dict[str, torch.Tensor]:
        """``epochs × minibatches`` optimiser steps on the summed loss modules over whole sequences, then one LR
        schedule step; returns each term and metric averaged over the steps."""
        cfg = self.ppo_cfg
        opt = self.optimizers()
        env_steps = int(self.env_steps)
        for loss in self.losses:
            loss.set_progress(env_steps)
            loss.prepare(seq)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cfg.bf16_update and self.device.type == "cuda" \
            else nullcontext()
        batch = seq.batch_size[0]
        mb = max(1, batch // cfg.minibatches)
        sums: dict[str, torch.Tensor] = {}
        updates = 0
        # our own minibatches rather than a TorchRL replay buffer: whole sequences with their start memory go
        # through the core, and the permutation draws from the run's RNG exactly as before (bit-identical resumes)
        for _ in range(cfg.epochs):
            perm = torch.randperm(batch, device=self.device)
            for start in range(0, batch - mb + 1, mb):
                minibatch = seq[perm[start : start + mb]]  # [mb] sequences of T steps
                with autocast:  # bf16 forward and loss on CUDA with ppo.bf16_update
                    out = PolicyOutput(*self.model.sequence(minibatch["obs"], minibatch["memory"],
                                                            minibatch["is_init"]))
                    loss, terms, metrics = combine(list(self.losses), minibatch, out)
                bad = [k for k, v in terms.items() if not torch.isfinite(v)]
                if bad:
                    self._abort_nonfinite(f"{bad[0]} loss", seq)
                opt.zero_grad(set_to_none=True)
                self.manual_backward(loss)
                grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                opt.step()
                for k, v in {**terms, **metrics, "grad_norm": grad_norm}.items():
                    sums[k] = sums.get(k, 0.0) + v.detach()
                updates += 1
        self.lr_schedulers().step()
        return {k: v / updates for k, v in sums.items()}

    def curriculum_before_rollout(self) -> dict[str, float]:
        """The sampler's work between rollouts (buffer refreshes, mutations); metrics to log."""
        return self.rt.sampler.before_rollout(self.current_epoch) if self.rt.sampler is not None else {}

    def _make_trial_log(self) -> TrialLog | None:
        """The per-trial statistics of a run with meta-RL trials (``None`` without: nothing changes)."""
        if not self.env_cfg.trials.active:
            return None
        return TrialLog(self.env_cfg.trials.max_trials, success_key(self.env_cfg), self.num_agents,
                        self.curriculum_cfg.trial_success)

    def trial_outcomes(self, data: TensorDictBase, episodes: dict[str, tuple[torch.Tensor, torch.Tensor]],
                       success: torch.Tensor) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
        """With trials on: ``episodes`` plus (sum, count) of success and return per trial index (logged as
        ``train/success_trial_k``, ``train/return_trial_k``), and each finished episode's success ``[N, T]`` as
        ``curriculum.trial_success`` defines it; without trials both are returned as they are."""
        if self.trial_log is None:
            return episodes, success
        by_trial, success = self.trial_log.finished(data)
        return {**episodes, **by_trial}, success

    def curriculum_update(self, data: TensorDictBase, seq: TensorDictBase, episode_return: torch.Tensor,
                          success: torch.Tensor) -> dict[str, float]:
        """Per-level statistics of this rollout to the sampler (scores, insertions); metrics to log."""
        if self.rt.sampler is None:
            return {}
        return self.rt.sampler.update(level_stats(data, seq, self.num_agents, episode_return, success))

    def log_iteration(self, metrics: dict[str, torch.Tensor], episodes: dict[str, tuple[torch.Tensor, torch.Tensor]],
                      curriculum_log: dict[str, float], seconds: dict[str, float]) -> None:
        """Loss terms and metrics, episode statistics, throughput and curriculum metrics (reduced over ranks).

        ``seconds`` [s]: wall time of this iteration's ``collect``, ``update`` and ``curriculum`` phases.
        """
        collect_s, curriculum_s = seconds["collect"], seconds["curriculum"]
        total_s = collect_s + seconds["update"]
        frames = self.frames_per_iteration * self._world_size()
        sampler = self.rt.sampler
        log = dict(sync_dist=True, on_step=False, on_epoch=True, batch_size=1)
        # collection + update (the curriculum's own time is perf/curriculum_share of the whole)
        self.log("perf/env_steps_per_s", frames / total_s, prog_bar=True, **log)
        if sampler is not None:
            self.log("perf/env_steps_per_s_with_curriculum", frames / (total_s + curriculum_s), **log)
            curriculum_log["perf/curriculum_share"] = curriculum_s / (total_s + curriculum_s)
        self.log("perf/collect_share", collect_s / total_s, **log)
        self.log("env_steps", self.env_steps.float(), **log)
        self.log("lr", self.optimizers().param_groups[0]["lr"], **log)
        for k, v in metrics.items():
            self.log(f"loss/{k}", v, **log)
        for k, (total, count) in episodes.items():
            self.log(f"train/{k}", total / count.clamp(min=1), prog_bar=k in ("return", "success"), **log)
        self.log("train/episodes", episodes["return"][1].float(), reduce_fx="sum", sync_dist=True, on_step=False,
                 on_epoch=True, batch_size=1)
        for k, v in curriculum_log.items():
            self.log(k, float(v), **log)
        if getattr(self, "_world_nonfinite", None) is not None:  # env steps that ended on a blown-up simulator
            self.log("train/world_nonfinite", self._world_nonfinite.float(), reduce_fx="sum", sync_dist=True,
                     on_step=False, on_epoch=True, batch_size=1)

    # ------------------------------------------------------------------ non-finite guard
    def check_finite(self, data: TensorDictBase, key: tuple, name: str) -> None:
        """Stop with ``NonFiniteError`` if ``data[key]`` holds a NaN or inf (saving the rollout under ``debug/``)."""
        if not torch.isfinite(data.get(key)).all():
            self._abort_nonfinite(name, {"rollout": data.cpu()})

    _check_finite = check_finite  # the earlier name

    def check_world_health(self, data: TensorDictBase) -> None:
        """Count the env steps whose world flagged a non-finite simulator state (its ``nonfinite_key``; the episode
        ended there) and stop with ``NonFiniteError`` when their share exceeds ``ppo.nonfinite_world_tolerance``."""
        key = nonfinite_key(self.env_cfg)
        flags = None if key is None else data.get(("next", *key), None)
        if flags is None:
            return
        self._world_nonfinite = flags.sum()  # logged as train/world_nonfinite
        if bool(self._world_nonfinite > self.ppo_cfg.nonfinite_world_tolerance * flags.numel()):
            self._abort_nonfinite(f"simulator state ({'/'.join(key)})", {"rollout": data.cpu()})

    def _abort_nonfinite(self, quantity: str, payload: Any) -> None:
        """Save the offending data and the parameters under the run's ``debug/`` folder, then stop.

        The dump holds tensors and plain containers only (TensorDicts as ``{key tuple: tensor}``), so it reads back
        with ``torch.load(path, weights_only=True)``.
        """
        iteration = self.current_epoch
        try:
            root = Path(self.trainer.default_root_dir) / "debug"
        except RuntimeError:  # not attached to a Trainer
            root = Path("debug")
        root.mkdir(parents=True, exist_ok=True)
        path = root / f"nonfinite_rank{self.global_rank}_iter{iteration}.pt"
        torch.save({"quantity": quantity, "iteration": iteration, "env_steps": int(self.env_steps),
                    "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                    "data": _plain(payload)}, path)
        raise NonFiniteError(f"non-finite {quantity} at iteration {iteration} (env step {int(self.env_steps)}); "
                             f"debug data saved to {path}")

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["ada_config"] = self.config_fingerprint()
        state = self.rt.state_dict() if self.rt is not None else None
        world = self._world_size()
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
        # fields added since a checkpoint was written take their defaults (before curricula existed: uniform)
        saved = {**fingerprint(curriculum=CurriculumConfig()), **saved}
        if "env.trials" not in saved:  # written before trials existed: one trial per episode
            saved = {**saved, "env.trials": asdict(TrialConfig())}
        diffs = [f"{k}: checkpoint {saved.get(k)!r} vs config {ours.get(k)!r}"
                 for k in sorted(set(saved) | set(ours)) if saved.get(k) != ours.get(k)]
        if diffs:
            raise CheckpointMismatchError("checkpoint is incompatible with this config:\n  " + "\n  ".join(diffs))
        runtimes = checkpoint.get("ada_runtime") or [None]
        world = self._world_size()
        if len(runtimes) != world:
            raise CheckpointMismatchError(f"checkpoint holds {len(runtimes)} ranks' env state, this run has "
                                          f"{world} ranks")
        self._restore = runtimes[self.global_rank]
