"""The bandit world's invariants: payout frequencies, restarts keep the level, seeds and resumes reproduce."""
from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict

from ada import EnvConfig, TrialConfig
from ada.worlds import build_env, held_out_levels, random_levels, with_memory
from envs_warp.bandit import BanditConfig, BanditEnv
from envs_warp.core.world import get_world

from .helpers import pull_outcomes

PROBS = [0.0, 0.25, 0.5, 1.0]  # [n_arms] a hand-made level: never, a quarter, half, always


def fixed_env(rows: int, seed: int = 0) -> BanditEnv:
    """``rows`` bandits all running the ``PROBS`` level."""
    env = BanditEnv(BanditConfig(n_arms=len(PROBS)), num_envs=rows, seed=seed, random_levels=False)
    env.set_levels(TensorDict({"probs": torch.tensor([PROBS] * rows)}, batch_size=[rows]))
    return env


def pull(env: BanditEnv, arms: torch.Tensor) -> TensorDict:
    """One pull per row (``arms`` ``[N]``), then a reset of every row (a new world episode on the same level)."""
    td = env.reset()
    td.set(("agents", "action"), arms.view(-1, 1))
    return env.step(td)["next"]


def test_payout_frequencies_match_the_arm_probabilities_and_best_arm_marks_the_top_arm():
    rows, pulls = 64, 100  # 16 rows per arm: 1600 pulls per arm
    env = fixed_env(rows)
    arms = torch.arange(rows) % len(PROBS)
    paid, best = torch.zeros(rows), torch.zeros(rows)
    for _ in range(pulls):
        nxt = pull(env, arms)
        paid += nxt["agents", "reward"][:, 0, 0]
        best += nxt["agents", "best_arm"][:, 0, 0].float()
        assert bool(nxt["done"].all()) and bool(nxt["terminated"].all()), "the world's episode is one pull"
    freq = torch.stack([paid[arms == a].sum() / (pulls * (arms == a).sum()) for a in range(len(PROBS))])
    assert freq[0] == 0.0 and freq[3] == 1.0, freq  # p = 0 never pays, p = 1 always does
    assert abs(freq[1] - 0.25) < 0.05 and abs(freq[2] - 0.5) < 0.05, freq  # 4 sigma for 1600 pulls
    assert torch.equal(best, (arms == 3).float() * pulls), "best_arm is set exactly when the top arm is pulled"
    assert torch.equal(env.levels["probs"], torch.tensor([PROBS] * rows)), "pulls and resets never change a level"


def test_a_trial_restart_keeps_the_level_and_only_a_new_episode_draws_another():
    cfg = EnvConfig(world="bandit", num_envs=8, overrides={"n_arms": 3}, trials=TrialConfig(k_min=5))
    env = with_memory(build_env(cfg, "cpu", seed=0), (1,))
    base = env.base_env
    td = env.reset()
    first, tag = base.levels["probs"].clone(), base.level_id.clone()
    for t in range(5):
        td = env.step(env.rand_action(td))
        nxt = td["next"]
        assert torch.equal(base.levels["probs"], first) and torch.equal(base.level_id, tag), f"pull {t}"
        assert bool((nxt["trial_done"]).all()), "every pull ends a trial"
        assert bool((nxt["done"]).all()) == (t == 4), "the episode ends after K = 5 pulls only"
        assert bool((nxt["trial"] == min(t + 1, 4)).all())
        td = env.step_mdp(td)
    env.reset()
    assert bool((base.levels["probs"] != first).any(-1).all()), "a new episode draws a new level in every row"
    assert bool((base.level_id != tag).all())


def test_same_seed_same_pulls_another_seed_differs_and_a_resume_is_exact():
    arms = torch.arange(16) % 4

    def rewards(env: BanditEnv, steps: int) -> torch.Tensor:  # [steps, N]
        return torch.stack([pull(env, arms)["agents", "reward"][:, 0, 0] for _ in range(steps)])

    a, b, c = fixed_env(16, seed=3), fixed_env(16, seed=3), fixed_env(16, seed=4)
    assert torch.equal(rewards(a, 20), rewards(b, 20))
    assert not torch.equal(rewards(fixed_env(16, seed=3), 20), rewards(c, 20)), "the env's seed changes nothing"
    saved = {k: v.clone() for k, v in a.runtime_state().items()}
    ahead = rewards(a, 10)
    resumed = fixed_env(16, seed=99)
    resumed.load_runtime_state(saved)
    assert torch.equal(rewards(resumed, 10), ahead), "a resumed env pulls differently"


def test_random_and_held_out_levels_are_reproducible_and_in_range():
    cfg = EnvConfig(world="bandit", overrides={"n_arms": 5, "prob_low": 0.2, "prob_high": 0.6})
    levels = random_levels(cfg, 2000, seed=0)["probs"]  # [2000, 5]
    assert levels.min() >= 0.2 and levels.max() <= 0.6
    assert abs(float(levels.mean()) - 0.4) < 0.01 and abs(float(levels.std()) - 0.4 / 12 ** 0.5) < 0.01  # uniform
    held, names = held_out_levels(cfg)
    again, _ = held_out_levels(cfg)
    assert len(names) == 64 and names[0] == "held_out_000" and torch.equal(held["probs"], again["probs"])
    assert not torch.equal(held["probs"], random_levels(cfg, 64, seed=0)["probs"])


@pytest.mark.parametrize("field,value", [("n_arms", 1), ("max_steps", 0), ("prob_high", 1.5)])
def test_a_bad_config_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        get_world("bandit").make_config({field: value})


def test_thompson_and_ucb1_find_the_good_arm_and_ucb1_tries_every_arm_first():
    cfg = EnvConfig(world="bandit", overrides={"n_arms": 3}, trials=TrialConfig(k_min=40))
    levels = TensorDict({"probs": torch.tensor([[0.1, 0.9, 0.2], [0.8, 0.1, 0.1]])}, batch_size=[2])
    for name, factor in (("thompson", 0.1), ("ucb1", 0.4)):  # UCB1 keeps exploring: sqrt(2 ln 40 / 3) = 1.6
        out = pull_outcomes(cfg, levels, attempts=8, policy=name, seed=2)
        assert out["regret"][:, -10:].mean() < factor * out["regret"][:, :3].mean(), name  # settled on the good arm
    random = pull_outcomes(cfg, levels, attempts=8, policy="random", seed=2)
    assert abs(random["regret"].mean() - 0.5) < 0.1  # mean regret of a uniform arm: (0.8 + 0 + 0.7) / 3
    ucb = pull_outcomes(cfg, levels, attempts=8, policy="ucb1", seed=2)
    arms = torch.as_tensor(ucb["regret"][:, :3])  # regret of the first three pulls: arms 0, 1, 2 in order
    probs = levels["probs"].repeat_interleave(8, 0)
    assert torch.allclose(arms, probs.max(-1, keepdim=True).values - probs)
