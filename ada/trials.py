"""Meta-RL trials for every world: an episode is K trials of one level, the agent's memory kept across them.

Two TorchRL transforms, added by :func:`ada.worlds.with_memory` when ``EnvConfig.trials`` is active:

- :class:`TrialTransform` (next to the world): when the world ends a trial (its ``done``) and the episode
  has trials left, it clears the episode's done flags for those rows and restarts them on the same level
  inside the same step: ``env.restart(mask)`` for a :class:`~envs_warp.core.env_base.WarpEnv` (level
  kept, curriculum not asked, start re-drawn as the world says), a plain masked reset for a world
  without levels. The returned ``"next"`` step holds the trial's reward and success flags (bool
  observation entries: events of the step) and the restart's observation (every other observation
  entry), so the policy acts on the new trial next and GAE bootstraps from it. Only the last trial's end
  reaches the collector as ``done``: that is the only reset, the only ``is_init`` (memory zeroed,
  Transformer-XL attention cut) and the only call to the curriculum. A per-trial time limit is the
  world's own ``max_steps``; it truncates a trial, not the episode.
- :class:`TrialInputs`: appends the RL²/AdA policy inputs to ``("agents", "observation")``: previous
  action, previous reward, trial index (or fraction) and a trial-start flag.

Memory: a GRU carries its state across trials; Transformer-XL attends across trial boundaries (only
``is_init`` empties its cache) but only ``policy.memory_len`` steps back, so to recall trial 1 while in
trial K it must span the steps in between: ``memory_len >= (K - 1) × steps per trial`` (the world's
``max_steps`` at most). ``ada.worlds.episode_limit`` is the world's limit times the largest K.

Keys (root, ``[N, 1]``): ``"trial"`` int64 (0-based index of the trial a step belongs to), ``"num_trials"``
int64 (K of the episode), ``"trial_start"`` bool (first step of a trial), ``"trial_done"`` bool (in
``"next"``: this step ended a trial, the episode's last one included). The counters travel in the TensorDict
(so in the collector's saved step: resumes are exact). K of an episode is drawn at its reset from the row's
own random stream, the world's ``(rng_seed, rng_counter)``. Everything is masked tensor arithmetic: no
host sync.

Examples:
    >>> env = with_memory(build_env(EnvConfig(world="lidarnav", num_envs=4, trials=TrialConfig(k_min=3)), "cpu", 0),
    ...                   memory_shape=(32,))
    >>> td = env.rollout(200, break_when_any_done=False)  # [4, 200]
    >>> td["trial"].shape, td["next", "trial_done"].shape   # a trial ends where trial_done; done only after 3
    (torch.Size([4, 200, 1]), torch.Size([4, 200, 1]))
"""
from __future__ import annotations

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Categorical, Composite, Unbounded
from torchrl.envs import Transform

from models.actor_critic import ActionSpace

from .config import TrialConfig

TRIAL = "trial"
NUM_TRIALS = "num_trials"
TRIAL_START = "trial_start"
TRIAL_DONE = "trial_done"
OBS_KEY = ("agents", "observation")
ACTION_KEY = ("agents", "action")
REWARD_KEY = ("agents", "reward")
_M32 = 0xFFFFFFFF


def _hash32(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """32-bit hash of two int64 tensors (wrapping arithmetic; identical on every device)."""
    z = (a * 0x9E3779B1 + b * 0x85EBCA77 + 0x27D4EB2F) & _M32
    z = ((z ^ (z >> 15)) * 0x2C1B3C6D) & _M32
    z = ((z ^ (z >> 12)) * 0x297A2D39) & _M32
    return z ^ (z >> 15)


def draw_num_trials(row_seed: torch.Tensor, episode: torch.Tensor, k_min: int, k_max: int) -> torch.Tensor:
    """K per row, uniform in ``[k_min, k_max]``, a pure function of (row seed ``[N]``, episode count ``[N]``)."""
    if k_max == k_min:
        return torch.full_like(episode, k_min)
    return k_min + _hash32(row_seed.long(), episode.long()) % (k_max - k_min + 1)


def action_input_size(action: ActionSpace) -> int:
    """Width of the previous-action input: one-hot per discrete channel, the raw vector if continuous."""
    if action.kind == "discrete":
        return action.n
    if action.kind == "multi_discrete":
        return sum(action.nvec)
    return len(action.low)


def trial_input_size(cfg: TrialConfig, action: ActionSpace) -> int:
    """Columns :class:`TrialInputs` appends to the observation (0 when the inputs are off)."""
    if not cfg.with_inputs:
        return 0
    return ((action_input_size(action) if cfg.prev_action else 0) + int(cfg.prev_reward)
            + int(cfg.trial_index != "none") + int(cfg.trial_start))


def _base_env(transform: Transform):
    """The world's env under the transformed env a transform sits in."""
    parent = transform.parent
    return parent.base_env if hasattr(parent, "base_env") else parent


class TrialTransform(Transform):
    """K trials per episode on the same level; the episode's ``done`` only after the last (see the module doc)."""

    def __init__(self, k_min: int = 1, k_max: int | None = None) -> None:
        super().__init__()
        self.k_min, self.k_max = k_min, (k_max if k_max is not None else k_min)
        if not 1 <= self.k_min <= self.k_max:
            raise ValueError(f"TrialTransform: need 1 <= k_min <= k_max, got {k_min}, {k_max}")
        self._restart_keys: list | None = None
        self._resets: torch.Tensor | None = None  # [N] resets per row, for worlds without rng_seed/rng_counter

    # ------------------------------------------------------------------ specs
    def _counters(self, shape, device) -> dict[str, object]:
        count = lambda: Unbounded(shape=shape, dtype=torch.int64, device=device)
        flag = lambda: Categorical(2, shape=shape, dtype=torch.bool, device=device)
        return {TRIAL: count(), NUM_TRIALS: count(), TRIAL_START: flag(), TRIAL_DONE: flag()}

    def transform_observation_spec(self, observation_spec: Composite) -> Composite:
        shape = (*observation_spec.shape, 1)
        for key, spec in self._counters(shape, observation_spec.device).items():
            observation_spec[key] = spec
        return observation_spec

    # ------------------------------------------------------------------ reset: a new episode
    def _row_stream(self, base, reset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(seed, counter) ``[N]`` naming each row's episode: the world's ``rng_seed``/``rng_counter`` (counted
        past this reset; part of its runtime state, so resumes are exact), else the row index and a count of
        resets kept here (not checkpointed)."""
        n = reset.shape[0]
        seed, counter = getattr(base, "rng_seed", None), getattr(base, "rng_counter", None)
        if isinstance(seed, torch.Tensor) and isinstance(counter, torch.Tensor) and seed.shape == counter.shape == (n,):
            return seed.long(), counter.long()
        if self._resets is None or self._resets.shape[0] != n:
            self._resets = torch.zeros(n, dtype=torch.int64, device=reset.device)
        self._resets.add_(reset.long())
        return torch.arange(n, dtype=torch.int64, device=reset.device), self._resets.clone()

    def _reset(self, tensordict: TensorDictBase, tensordict_reset: TensorDictBase) -> TensorDictBase:
        n, device = tensordict_reset.batch_size[0], tensordict_reset.device
        reset = tensordict.get("_reset", None)
        reset = torch.ones(n, dtype=torch.bool, device=device) if reset is None else reset.reshape(n, -1).any(-1)
        seed, counter = self._row_stream(_base_env(self), reset)
        k = draw_num_trials(seed, counter, self.k_min, self.k_max)  # [N]; only the reset rows' values are kept
        tensordict_reset.set(NUM_TRIALS, k.unsqueeze(-1))
        tensordict_reset.set(TRIAL, torch.zeros(n, 1, dtype=torch.int64, device=device))
        tensordict_reset.set(TRIAL_START, torch.ones(n, 1, dtype=torch.bool, device=device))
        tensordict_reset.set(TRIAL_DONE, torch.zeros(n, 1, dtype=torch.bool, device=device))
        return tensordict_reset

    # ------------------------------------------------------------------ step: maybe a new trial
    def _step(self, tensordict: TensorDictBase, next_tensordict: TensorDictBase) -> TensorDictBase:
        trial, k = tensordict.get(TRIAL), tensordict.get(NUM_TRIALS)  # [N, 1]
        ended = next_tensordict.get("done").clone()  # [N, 1] the world ended a trial
        restart = ended & (trial + 1 < k)  # [N, 1] a trial ended and the episode goes on
        for key in self.parent.done_keys:  # the episode is not done at a trial boundary
            value = next_tensordict.get(key)
            next_tensordict.set(key, value & ~restart.view(-1, *([1] * (value.dim() - 1))))
        next_tensordict.set(TRIAL, trial + restart.long())
        next_tensordict.set(NUM_TRIALS, k.clone())
        next_tensordict.set(TRIAL_START, restart)
        next_tensordict.set(TRIAL_DONE, ended)
        if restart.device.type == "cpu" and not restart.any():  # nothing to restart (a free check on the CPU;
            return next_tensordict  # on an accelerator the masked restart always runs: no host sync)
        fresh = self._restart(restart[:, 0])
        for key in self.restart_keys():
            value = next_tensordict.get(key)
            mask = restart.view(-1, *([1] * (value.dim() - 1)))
            next_tensordict.set(key, torch.where(mask, fresh.get(key), value))
        return next_tensordict

    def _restart(self, mask: torch.Tensor) -> TensorDictBase:
        """The world restarts the masked rows ``[N]`` on their level; its observations of every row."""
        base = _base_env(self)
        if hasattr(base, "restart"):
            return base.restart(mask)
        reset = TensorDict({"_reset": mask.unsqueeze(-1)}, batch_size=base.batch_size, device=base.device)
        return base._reset(reset)  # a world without levels: a restart is its ordinary masked reset

    def restart_keys(self) -> list:
        """Observation entries a restart replaces: every non-bool leaf of the world's observation spec."""
        if self._restart_keys is None:
            spec = _base_env(self).observation_spec
            self._restart_keys = [key for key in spec.keys(True, True)
                                  if spec[key].dtype != torch.bool and key != "level_id"]
        return self._restart_keys

    def forward(self, tensordict: TensorDictBase) -> TensorDictBase:
        raise NotImplementedError("TrialTransform acts in an env's step and reset only")


class TrialInputs(Transform):
    """Appends previous action, previous reward, trial index/fraction and trial-start flag to the observation.

    ``("agents", "observation")`` ``[N, A, D]`` becomes ``[N, A, D + trial_input_size(cfg, action)]``. After a
    reset the previous action and reward are 0; across a trial boundary they carry the last step of the
    trial before (its reward included), as in RL². Without a :class:`TrialTransform` before it the trial
    index is 0 and the trial-start flag marks resets.
    """

    def __init__(self, cfg: TrialConfig, action: ActionSpace) -> None:
        super().__init__()
        self.cfg, self.action = cfg, action
        self.extra = trial_input_size(cfg, action)

    def transform_observation_spec(self, observation_spec: Composite) -> Composite:
        spec = observation_spec[OBS_KEY]
        observation_spec[OBS_KEY] = Unbounded(shape=(*spec.shape[:-1], spec.shape[-1] + self.extra), dtype=spec.dtype,
                                              device=spec.device)
        return observation_spec

    def _encode_action(self, action: torch.Tensor, n: int, a: int) -> torch.Tensor:
        """``[N, A, P]`` float encoding of ``("agents", "action")``."""
        kind = self.action.kind
        if kind == "discrete":
            return torch.nn.functional.one_hot(action.long().reshape(n, a), self.action.n).float()
        if kind == "multi_discrete":
            action = action.long().reshape(n, a, len(self.action.nvec))
            return torch.cat([torch.nn.functional.one_hot(action[..., i], k).float()
                              for i, k in enumerate(self.action.nvec)], dim=-1)
        return action.float().reshape(n, a, -1)

    def _features(self, obs: torch.Tensor, action: torch.Tensor | None, reward: torch.Tensor | None,
                  trial: torch.Tensor, k: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """``obs [N, A, D]`` with the inputs appended; ``action``/``reward`` None mean 0 (after a reset)."""
        cfg = self.cfg
        n, a = obs.shape[:2]
        parts = [obs]
        if cfg.prev_action:
            width = action_input_size(self.action)
            parts.append(obs.new_zeros(n, a, width) if action is None else self._encode_action(action, n, a))
        if cfg.prev_reward:
            parts.append(obs.new_zeros(n, a, 1) if reward is None else reward.reshape(n, a, 1).to(obs.dtype))
        per_robot = lambda x: x.to(obs.dtype).reshape(n, 1, 1).expand(n, a, 1)
        if cfg.trial_index == "index":
            parts.append(per_robot(trial))
        elif cfg.trial_index == "fraction":
            parts.append(per_robot(trial.to(obs.dtype) / k.clamp(min=1).to(obs.dtype)))
        if cfg.trial_start:
            parts.append(per_robot(start))
        return torch.cat(parts, dim=-1)

    def _trial_keys(self, td: TensorDictBase, start_default: bool) -> tuple[torch.Tensor, ...]:
        n, device = td.batch_size[0], td.device
        trial = td.get(TRIAL, None)
        trial = torch.zeros(n, 1, dtype=torch.int64, device=device) if trial is None else trial
        k = td.get(NUM_TRIALS, None)
        k = torch.ones_like(trial) if k is None else k
        start = td.get(TRIAL_START, None)
        start = torch.full((n, 1), start_default, dtype=torch.bool, device=device) if start is None else start
        return trial, k, start

    def _reset(self, tensordict: TensorDictBase, tensordict_reset: TensorDictBase) -> TensorDictBase:
        trial, k, start = self._trial_keys(tensordict_reset, True)
        tensordict_reset.set(OBS_KEY, self._features(tensordict_reset.get(OBS_KEY), None, None, trial, k, start))
        return tensordict_reset

    def _step(self, tensordict: TensorDictBase, next_tensordict: TensorDictBase) -> TensorDictBase:
        trial, k, start = self._trial_keys(next_tensordict, False)
        obs = self._features(next_tensordict.get(OBS_KEY), tensordict.get(ACTION_KEY),
                             next_tensordict.get(REWARD_KEY), trial, k, start)
        next_tensordict.set(OBS_KEY, obs)
        return next_tensordict

    def forward(self, tensordict: TensorDictBase) -> TensorDictBase:
        raise NotImplementedError("TrialInputs acts in an env's step and reset only")
