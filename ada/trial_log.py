"""Training statistics by trial index when an episode is K meta-RL trials (``EnvConfig.trials``).

:class:`TrialLog` is a runtime part of the training run (checkpointed with the env, so a resumed run logs
and decides exactly as an uninterrupted one). Each iteration it reads the rollout ``[N, T]`` and returns

- per trial index k = 1..K_max: (sum, count) of the success and the return of the trials with that index
  that ended in the rollout, logged as ``train/success_trial_k`` and ``train/return_trial_k``. A trial's
  return is the sum over its steps of the robots' mean reward; its success is the world's success flag
  at its last step;
- every finished episode's success as the curriculum counts it (``CurriculumConfig.trial_success``:
  ``last``, ``first``, ``any`` trial or the ``mean`` over the episode's K trials) at its last step ``[N, T]``.

Everything is tensor arithmetic on the rollout's device: no host sync (logging reduces the sums later).

Examples:
    >>> log = TrialLog(max_trials=3, success_key=("agents", "reached_goal"), num_agents=1, trial_success="first")
    >>> log.start(rows=8, device=torch.device("cpu"))
    >>> sums, success = log.finished(data)  # sums["success_trial_1"] == (successes, trials ended)
"""
from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDictBase

from curricula.stats import episode_success

from .trials import NUM_TRIALS, TRIAL, TRIAL_DONE


class TrialLog:
    """Per-trial running return and the episode's trial successes of every env row, carried across rollouts."""

    def __init__(self, max_trials: int, success_key: tuple[str, ...], num_agents: int = 1,
                 trial_success: str = "last") -> None:
        self.max_trials, self.success_key, self.num_agents = max_trials, tuple(success_key), num_agents
        self.trial_success = trial_success
        self.trial_return: torch.Tensor | None = None  # [N] the current trial's return so far
        self.by_trial: torch.Tensor | None = None  # [N, K_max] bool: successes of the current episode's trials

    # ------------------------------------------------------------------ RuntimePart
    def start(self, rows: int, device: torch.device) -> None:
        """Allocate the carries for ``rows`` sequences (env rows × robots)."""
        n = rows // self.num_agents
        self.trial_return = torch.zeros(n, device=device)
        self.by_trial = torch.zeros(n, self.max_trials, dtype=torch.bool, device=device)

    def runtime_state(self) -> dict[str, Any]:
        """The carries (CPU tensors)."""
        return {"trial_return": self.trial_return.cpu().clone(), "by_trial": self.by_trial.cpu().clone()}

    def load_runtime_state(self, state: dict[str, Any] | None) -> None:
        """Restore ``runtime_state()`` (none: a checkpoint written without it; the carries start at zero)."""
        if state is None:
            self.trial_return.zero_()
            self.by_trial.zero_()
            return
        self.trial_return.copy_(state["trial_return"])
        self.by_trial.copy_(state["by_trial"])

    # ------------------------------------------------------------------ one rollout
    def finished(self, data: TensorDictBase) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
        """(sum, count) of success and return per trial index over the trials that ended in ``data [N, T]``, and
        each finished episode's success by ``trial_success`` at its last step ``[N, T]`` (0 elsewhere)."""
        reward = data.get(("next", "agents", "reward"))[..., 0].mean(-1)  # [N, T]
        ended = data.get(("next", TRIAL_DONE))[..., 0]  # [N, T] a trial ended
        done = data.get(("next", "done"))[..., 0]  # [N, T] the episode ended
        reached = data.get(("next", *self.success_key))[..., 0].all(-1) & ended  # [N, T]
        trial = data.get(TRIAL)[..., 0].clamp(max=self.max_trials - 1)  # [N, T] 0-based index of each step's trial
        num_trials = data.get(NUM_TRIALS)[..., 0]  # [N, T]
        k = self.max_trials
        ret_sum = torch.zeros(k, device=reward.device)
        count = torch.zeros(k, device=reward.device)
        success = torch.zeros_like(reward)  # [N, T]
        for step in range(reward.shape[1]):
            self.trial_return += reward[:, step]
            end, index = ended[:, step], trial[:, step : step + 1]  # [N], [N, 1]
            ret_sum.index_add_(0, index[:, 0], self.trial_return * end)
            count.index_add_(0, index[:, 0], end.float())
            self.by_trial.scatter_(1, index, self.by_trial.gather(1, index) | reached[:, step : step + 1])
            d = done[:, step]
            success[:, step] = episode_success(self.by_trial, num_trials[:, step], self.trial_success) * d
            self.trial_return *= ~end
            self.by_trial &= ~d[:, None]
        hits = torch.zeros(k, device=reward.device).index_add_(0, trial.reshape(-1), reached.reshape(-1).float())
        sums: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for i in range(k):
            sums[f"success_trial_{i + 1}"] = (hits[i], count[i])
            sums[f"return_trial_{i + 1}"] = (ret_sum[i], count[i])
        return sums, success
