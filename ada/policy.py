"""The actor-critic seen from TorchRL: a TensorDict-in/TensorDict-out rollout policy with memory."""
from __future__ import annotations

import torch
from tensordict import TensorDictBase

from models.actor_critic import ActorCritic

from .worlds import MEMORY_KEY

OBS_KEY = ("agents", "observation")
ACTION_KEY = ("agents", "action")
LOGP_KEY = ("agents", "log_prob")
VALUE_KEY = ("agents", "value")


class RolloutPolicy:
    """Reads observations, ``is_init`` and memory; writes action, log-prob, value and next memory.

    Robots are folded into the batch (``[N, A] -> [N·A]``) and share parameters; each robot keeps
    its own memory. ``deterministic`` takes the distribution's mode (mean for Gaussians).

    Cores with a large memory (Transformer-XL, ``model.cached_memory``) do not pass it through the
    TensorDict (a collector would store it at every step): the live cache ``self.cache [N·A, ...]``
    lives here on the env's device as a ring buffer (oldest slot ``self.head``), is written in place
    every step and reset by mask on ``is_init`` (inside the core); the TensorDict carries a one-slot
    placeholder instead. ``memory()`` gives the cache in the core's ``sequence`` layout.
    """

    def __init__(self, model: ActorCritic, deterministic: bool = False) -> None:
        self.model = model
        self.deterministic = deterministic
        self.cache: torch.Tensor | None = None  # [N·A, *core.memory_shape()] for cached-memory cores
        self.head = 0  # ring-buffer slot holding the oldest step (all rows step together)

    def ensure_cache(self, batch: int, device: torch.device | str) -> torch.Tensor:
        """The live cache for ``batch`` sequences, allocated (empty) on first use."""
        if self.cache is None or self.cache.shape[0] != batch:
            dtype = getattr(torch, getattr(self.model.cfg, "cache_dtype", "float32"))
            self.cache = self.model.initial_memory(batch, device, dtype)
            self.head = 0
        return self.cache

    def memory(self) -> torch.Tensor:
        """The live cache in ``sequence`` layout (oldest step first), a copy ``[N·A, *core.memory_shape()]``."""
        return self.model.core.ordered(self.cache, self.head)

    @torch.no_grad()
    def __call__(self, td: TensorDictBase) -> TensorDictBase:
        obs = td.get(OBS_KEY)  # [N, A, D]
        n, a = obs.shape[:2]
        memory = td.get(MEMORY_KEY)  # [N, A, *M]
        is_init = td.get("is_init").expand(n, a)  # [N, A]
        if self.model.cached_memory:
            cache = self.ensure_cache(n * a, obs.device)  # [N·A, L+1, M, D]
            dist, value = self.model.step_inplace(obs.flatten(0, 1), cache, is_init.flatten(), self.head)
            self.head = (self.head + 1) % cache.shape[2]
            new_memory = memory.flatten(0, 1)  # placeholder [N·A, 1]
        else:
            dist, value, new_memory = self.model.step(obs.flatten(0, 1), memory.flatten(0, 1), is_init.flatten())
        if self.deterministic:
            action = dist.mode if hasattr(dist, "mode") else dist.mean
        else:
            action = dist.sample()
        log_prob = dist.log_prob(action)
        td.set(ACTION_KEY, action.reshape(n, a, *action.shape[1:]))
        td.set(LOGP_KEY, log_prob.reshape(n, a))
        td.set(VALUE_KEY, value.reshape(n, a))
        td.set(("next", *MEMORY_KEY), new_memory.reshape(n, a, *new_memory.shape[1:]))
        return td
