"""Curricula over K-trial episodes: which trial's success defines p (``CurriculumConfig.trial_success``)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tensordict import TensorDict

from curricula import CurriculumConfig, build_sampler, episode_success

from .fakes import SyntheticContext


def test_episode_success_of_each_mode_on_hand_made_episodes():
    # three episodes with K_max = 3: K = 3 (trials: fail, succeed, succeed), K = 2 (succeed, fail; the third entry
    # lies past K and must be ignored), K = 1 (succeed)
    by_trial = torch.tensor([[False, True, True], [True, False, True], [True, False, False]])
    k = torch.tensor([3, 2, 1])
    assert episode_success(by_trial, k, "last").tolist() == [1.0, 0.0, 1.0]
    assert episode_success(by_trial, k, "first").tolist() == [0.0, 1.0, 1.0]
    assert episode_success(by_trial, k, "any").tolist() == [1.0, 1.0, 1.0]
    assert torch.allclose(episode_success(by_trial, k, "mean"), torch.tensor([2 / 3, 1 / 2, 1.0]))
    with pytest.raises(ValueError, match="trial_success must be one of"):
        episode_success(by_trial, k, "best")


def test_a_bad_trial_success_is_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"curriculum.trial_success must be one of .*'last'.*got 'second'"):
        CurriculumConfig(method="sfl", trial_success="second")


class TrialContext(SyntheticContext):
    """Episodes of K = 3 trials: trial 1 succeeds with the level's ``p``; trials 2 and 3 always succeed (the agent
    adapts), so only the first trial's success makes a level learnable."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.modes: list[str] = []

    def success_rates(self, levels: TensorDict, trials: int, seed: int = 0, trial_success: str = "last") -> torch.Tensor:
        self.modes.append(trial_success)
        g = torch.Generator().manual_seed(seed)
        n = levels.batch_size[0]
        first = torch.rand(n, trials, generator=g) < levels["p"].unsqueeze(-1)  # [n, trials]
        by_trial = torch.stack([first, torch.ones_like(first), torch.ones_like(first)], dim=-1)  # [n, trials, 3]
        return episode_success(by_trial, torch.full((n, trials), 3), trial_success).mean(-1)


def sfl(trial_success: str):
    cfg = CurriculumConfig(method="sfl", trial_success=trial_success)
    cfg.sfl.num_candidates, cfg.sfl.trials, cfg.sfl.buffer_size, cfg.sfl.refresh_every = 400, 32, 20, 1
    sampler = build_sampler(cfg, seed=0)
    sampler.bind(TrialContext())
    return sampler


def test_sfl_p_is_the_configured_trials_success():
    last = sfl("last")
    metrics = last.before_rollout(0)
    assert last.ctx.modes == ["last"]
    assert last.buffer.size() == 0 and metrics["curriculum/candidate_success"] == 1.0  # p = 1: nothing to learn
    first = sfl("first")
    first.before_rollout(0)
    assert first.ctx.modes == ["first"]
    p = first.buffer.levels["p"][first.buffer.valid]  # first-trial success probability of the kept levels
    assert first.buffer.size() == 20 and ((p - 0.5).abs() < 0.25).all(), p
    mean = sfl("mean")
    mean.before_rollout(0)  # p = (first + 2) / 3 >= 2/3: the most learnable levels are the hardest first trials
    kept = mean.buffer.levels["p"][mean.buffer.valid]
    assert mean.buffer.size() == 20 and kept.max() < 0.3, kept


def trial_curriculum_args(run: Path, method: str, iterations: int) -> list[str]:
    """A seconds-long ``ada train`` on the outside point-mass world: 2-3 trials per episode, a small curriculum
    that counts an episode by its first trial."""
    curriculum = {"method": method, "trial_success": "first",
                  "sfl": {"num_candidates": 16, "trials": 2, "buffer_size": 4, "refresh_every": 2},
                  "plr": {"buffer_size": 8, "min_fill": 0.25}}
    config = run.parent / f"{run.name}.yaml"
    config.write_text(json.dumps({"model": {  # JSON is YAML
        "seed": 0, "curriculum": curriculum,
        "env": {"world": "pointmass_world:WORLD", "num_envs": 8, "overrides": {"max_steps": 5},
                "trials": {"k_min": 2, "k_max": 3}},
        "ppo": {"rollout_len": 8, "total_env_steps": 512, "epochs": 1, "minibatches": 2},
        "policy": {"core": "gru", "hidden": 16}}}))
    return ["--config", str(config), "--trainer.default_root_dir", str(run), "--trainer.max_epochs", str(iterations),
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--artifacts", "false", "--checkpoint_every", "1"]


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("method", ["sfl", "plr"])
def test_curriculum_with_trials_resumes_exactly(method, tmp_path):
    from ada.cli import train
    from tests.worlds import conftest  # noqa: F401  (the outside point-mass world)

    full = train(trial_curriculum_args(tmp_path / "full", method, 6))
    if method == "sfl":
        assert full.rt.sampler.trial_success == "first"
    train(trial_curriculum_args(tmp_path / "split", method, 3))
    resumed = train(trial_curriculum_args(tmp_path / "split", method, 6))
    reference = full.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, reference[key]), f"{key} differs after resume"
    a, b = full.rt.sampler.buffer, resumed.rt.sampler.buffer
    assert a.size() > 0
    for name in ("uid", "score"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert torch.equal(full.trial_log.by_trial, resumed.trial_log.by_trial)
