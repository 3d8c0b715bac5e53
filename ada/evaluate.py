"""Evaluation: run a policy on a set of levels with many attempts each; tables, and GIFs per level.

Evaluation never changes the model it is given: it runs in eval mode on a copy when the device differs
(on the model's own device, in place with every training flag restored afterwards), and draws its
random numbers from a forked RNG seeded from ``seed``, so the caller's streams continue as before.
"""
from __future__ import annotations

import copy
import csv
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from tensordict import TensorDict

from curricula.stats import episode_success
from envs_warp.core.render import save_video
from models.actor_critic import ActorCritic

from .config import EnvConfig
from .policy import RolloutPolicy
from .trials import NUM_TRIALS, TRIAL, TRIAL_DONE
from .worlds import agent_positions, build_env, draw_row_fn, episode_limit, success_key, with_memory


def _same_device(a: torch.device, b: torch.device) -> bool:
    """``cuda`` names the current CUDA device; otherwise devices compare by type and index."""
    if a.type != b.type:
        return False
    if a.type != "cuda" or a.index == b.index:
        return True
    current = torch.cuda.current_device()
    return (a.index if a.index is not None else current) == (b.index if b.index is not None else current)


@contextmanager
def evaluation_model(model: ActorCritic, device: torch.device | str) -> Iterator[ActorCritic]:
    """``model`` in eval mode on ``device``; the caller's model keeps its device, mode and parameters.

    Another device gets a copy; on the model's own device the model itself is used (no copy of a large
    model) and every submodule's ``training`` flag is put back on exit.
    """
    device = torch.device(device)
    first = next(model.parameters(), None)
    if first is not None and not _same_device(first.device, device):
        yield copy.deepcopy(model).to(device).eval()
        return
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in flags:
            m.training = training


@contextmanager
def seeded_rng(seed: int, device: torch.device | str) -> Iterator[None]:
    """Global torch RNG seeded with ``seed`` inside, the caller's CPU and CUDA RNG states restored on exit."""
    device = torch.device(device)
    cuda = device.type == "cuda" or (torch.cuda.is_available() and torch.cuda.is_initialized())
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda else []):
        torch.manual_seed(seed)
        yield


@torch.no_grad()
def run_attempts(module, levels: TensorDict, attempts: int, policy: Callable | None = None, seed: int = 0,
                 deterministic: bool = False, device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """First-episode outcome of every (level, attempt) pair: success (every robot reached its goal), the
    fraction of robots at their goal, return, length; arrays ``[L, attempts]``.

    With meta-RL trials on (``env_cfg.trials``) an episode is K trials of the level: ``success`` and
    ``robots_at_goal`` are those of its last trial, ``return`` and ``length`` the whole episode's; also
    ``success_by_trial`` and ``return_by_trial`` ``[L, attempts, K_max]`` (False / 0 past the episode's K)
    and ``num_trials`` ``[L, attempts]``.

    ``module``: anything with ``env_cfg`` and ``model`` (a ``PPOModule``). Reproducible from ``seed``;
    the model's device, mode and parameters and the caller's random streams are left as they were.
    """
    return rollout_outcomes(module.env_cfg, module.model, levels, attempts, policy, seed, deterministic, device)


@torch.no_grad()
def rollout_outcomes(env_cfg: EnvConfig, model: ActorCritic, levels: TensorDict, attempts: int,
                     policy: Callable | None = None, seed: int = 0, deterministic: bool = False,
                     device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """``run_attempts`` from a world config and a model (see there)."""
    device = torch.device(device)
    with seeded_rng(seed, device), evaluation_model(model, device) as net:
        return _run_attempts(env_cfg, net, levels, attempts, policy, seed, deterministic, device)


def _run_attempts(env_cfg: EnvConfig, model: ActorCritic, levels: TensorDict, attempts: int, policy: Callable | None,
                  seed: int, deterministic: bool, device: torch.device) -> dict[str, np.ndarray]:
    n_levels = levels.batch_size[0]
    base = build_env(env_cfg, device, seed=seed, num_envs=n_levels * attempts, random_levels=False)
    base.set_levels(levels.repeat_interleave(attempts, dim=0).to(device))
    env = with_memory(base, model.carried_memory_shape())
    act = policy or RolloutPolicy(model, deterministic=deterministic)
    td = env.reset()
    n = base.num_envs
    finished = torch.zeros(n, dtype=torch.bool, device=device)
    success = torch.zeros(n, dtype=torch.bool, device=device)
    robots = torch.zeros(n, device=device)  # fraction of robots that reached their goal
    ret = torch.zeros(n, device=device)
    length = torch.zeros(n, device=device)
    success_at = ("next", *success_key(env_cfg))
    by_trial = TRIAL in td.keys()  # the env runs K trials per episode
    k_max = env_cfg.trials.max_trials
    trial_success = torch.zeros(n, k_max, dtype=torch.bool, device=device)  # [n, K_max]
    trial_return = torch.zeros(n, k_max, device=device)  # [n, K_max] return of each trial
    for _ in range(episode_limit(env_cfg)):
        td = act(td)
        td = env.step(td)
        nxt = td["next"]
        live = ~finished
        reward = nxt["agents", "reward"][..., 0].mean(-1) * live  # [n] robots' mean
        ret += reward
        length += live.float()
        done = nxt["done"][:, 0] & live
        reached = td.get(success_at)[..., 0]  # [n, A]
        success |= done & reached.all(-1)
        robots = torch.where(done, reached.float().mean(-1), robots)
        if by_trial:
            trial = td[TRIAL].clamp(max=k_max - 1)  # [n, 1] the trial this step belongs to
            trial_return.scatter_add_(1, trial, reward[:, None])
            ended = nxt[TRIAL_DONE][:, 0] & live & reached.all(-1)  # [n] a trial ended at the goal
            trial_success.scatter_(1, trial, trial_success.gather(1, trial) | ended[:, None])
        finished |= done
        if bool(finished.all()):
            break
        td = env.step_mdp(td) if hasattr(env, "step_mdp") else nxt
    shape = (n_levels, attempts)
    out = {"success": success.view(shape).cpu().numpy(), "robots_at_goal": robots.view(shape).cpu().numpy(),
           "return": ret.view(shape).cpu().numpy(),
           "length": length.view(shape).cpu().numpy()}
    if by_trial:
        out["success_by_trial"] = trial_success.view(*shape, k_max).cpu().numpy()
        out["return_by_trial"] = trial_return.view(*shape, k_max).cpu().numpy()
        out["num_trials"] = td[NUM_TRIALS][:, 0].view(shape).cpu().numpy()
    return out


class PolicyRollouts:
    """The rollout service a curriculum gets: episodes of the current policy on given levels.

    Built from the world config and the model being trained (not the training module); every call runs
    through ``rollout_outcomes``, so the model's device, mode and the run's random streams are untouched.
    """

    def __init__(self, env_cfg: EnvConfig, model: ActorCritic, device: torch.device | str) -> None:
        self.env_cfg = env_cfg
        self._model = model
        self.device = torch.device(device)

    def memory_shape(self) -> tuple[int, ...]:
        """The per-step memory entry an env for this policy carries (``with_memory``)."""
        return self._model.carried_memory_shape()

    def successes(self, levels: TensorDict, trials: int, seed: int, policy: Callable | None = None,
                  trial_success: str = "last") -> torch.Tensor:
        """``[n, trials]``: first-episode success of the (stochastic) policy, or of ``policy``, per level; bool,
        or in ``[0, 1]`` when a K-trial episode counts as the ``mean`` of its trials (``trial_success``, see
        ``curricula.episode_success``; ``last`` is the episode's own success)."""
        out = rollout_outcomes(self.env_cfg, self._model, levels, trials, policy=policy, seed=seed, device=self.device)
        if trial_success == "last" or "success_by_trial" not in out:
            return torch.as_tensor(out["success"], device=self.device)
        rate = episode_success(torch.as_tensor(out["success_by_trial"]), torch.as_tensor(out["num_trials"]),
                               trial_success)  # [n, trials]
        return (rate if trial_success == "mean" else rate.bool()).to(self.device)


def summarise(names: list[str], outcome: dict[str, np.ndarray]) -> list[dict]:
    """One row per level plus an ``ALL`` row: success rate, mean return, mean length."""
    rows = [{"level": name, "success_rate": float(outcome["success"][i].mean()),
             "mean_return": float(outcome["return"][i].mean()), "mean_length": float(outcome["length"][i].mean()),
             "attempts": int(outcome["success"].shape[1])} for i, name in enumerate(names)]
    rows.append({"level": "ALL", "success_rate": float(outcome["success"].mean()),
                 "mean_return": float(outcome["return"].mean()), "mean_length": float(outcome["length"].mean()),
                 "attempts": int(outcome["success"].size)})
    return rows


def write_table(rows: list[dict], out_dir: str | Path, stem: str = "results") -> None:
    """``results.json`` and ``results.csv`` in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(rows, indent=1))
    with open(out_dir / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@torch.no_grad()
def level_gif(module, level: TensorDict, path: str | Path, policy: Callable | None = None, seed: int = 0,
              deterministic: bool = True) -> Path:
    """GIF of one attempt at ``level`` (batch ``[1]``) until the episode ends (on CPU; the model is left as it was)."""
    with seeded_rng(seed, "cpu"), evaluation_model(module.model, "cpu") as model:
        return _level_gif(module.env_cfg, model, level, path, policy, seed, deterministic)


def _level_gif(env_cfg: EnvConfig, model: ActorCritic, level: TensorDict, path: str | Path, policy: Callable | None,
               seed: int, deterministic: bool) -> Path:
    base = build_env(env_cfg, "cpu", seed=seed, num_envs=1, random_levels=False)
    base.set_levels(level.cpu())
    env = with_memory(base, model.carried_memory_shape())
    act = policy or RolloutPolicy(model, deterministic=deterministic)
    draw = draw_row_fn(env_cfg)
    td = env.reset()
    trails: list[np.ndarray] = []  # [A, 2] [m] robot positions per frame (none if the world gives no positions)

    def frame() -> np.ndarray:
        pos = agent_positions(env_cfg, base)
        if pos is None:
            return draw(base, 0)
        trails.append(pos[0].cpu().numpy().copy())
        path = np.stack(trails, axis=1)  # [A, T, 2]
        return draw(base, 0, trails=list(path))

    frames = [frame()]
    for _ in range(episode_limit(env_cfg)):
        td = env.step(act(td))
        frames.append(frame())
        if bool(td["next", "done"].any()):
            break
        td = env.step_mdp(td)
    return save_video(frames, path, fps=15)


def agent_gif(module, path: str | Path) -> Path:
    """GIF of the deterministic agent on the first held-out level (a random level if none fits the config)."""
    from envs_warp.core.levels import LevelFileError

    from .worlds import held_out_levels

    try:
        levels, _ = held_out_levels(module.env_cfg)
    except LevelFileError:
        probe = build_env(module.env_cfg, "cpu", seed=0, num_envs=1)
        probe.reset()
        levels = probe.levels.clone()
    return level_gif(module, levels[:1], path)
