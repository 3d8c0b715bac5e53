"""Samplers on a synthetic world with known per-level success: selection, insertion, guards, checkpoints."""
from __future__ import annotations

import pytest
import torch

from curricula import (ACCELConfig, ACCELSampler, LevelStats, NoopFilterConfig, PLRConfig, PLRSampler, SFLConfig,
                       SFLSampler, UniformConfig, UniformSampler)
from curricula.tags import NEW, RANDOM, REPLAY, make_tags, tag_kind, tag_serial

from .fakes import RecordingEnv, SyntheticContext, make_levels

OFF = NoopFilterConfig()


def stats_for(tags: torch.Tensor, pvl: torch.Tensor, steps: int = 10, value: float = 0.0,
              max_return: torch.Tensor | None = None) -> LevelStats:
    """Synthetic statistics: ``steps`` steps per level with the given positive value loss."""
    n = tags.numel()
    ones = torch.ones(n)
    best = torch.full((n,), float("-inf")) if max_return is None else max_return
    return LevelStats(tags, ones * steps, pvl * steps, pvl * steps, ones * value * steps, (best > -1e30).float(),
                      torch.zeros(n), torch.zeros(n), best)


def bound(sampler, seed: int = 0):
    sampler.bind(SyntheticContext(seed))
    return sampler


# ------------------------------------------------------------------ SFL
def test_sfl_buffer_holds_levels_with_success_near_one_half():
    sfl = bound(SFLSampler(SFLConfig(num_candidates=2000, trials=64, buffer_size=50, refresh_every=1), OFF))
    metrics = sfl.before_rollout(0)
    p = sfl.buffer.levels["p"][sfl.buffer.valid]
    assert sfl.buffer.size() == 50
    assert ((p - 0.5).abs() < 0.2).all(), p
    assert metrics["curriculum/buffer_learnability"] > 0.22


def test_sfl_mixes_buffer_and_fresh_levels_at_the_configured_ratio():
    sfl = bound(SFLSampler(SFLConfig(num_candidates=200, trials=8, buffer_size=20, buffer_ratio=0.3), OFF))
    sfl.before_rollout(0)
    env = RecordingEnv(sfl.ctx, 4000)
    env.reset(sfl, torch.ones(4000, dtype=torch.bool))
    replay = tag_kind(env.level_id) == REPLAY
    assert abs(replay.float().mean().item() - 0.3) < 0.03
    slots = sfl.buffer.lookup(tag_serial(env.level_id[replay]))
    assert (slots >= 0).all() and torch.equal(env.levels["p"][replay], sfl.buffer.levels["p"][slots])


def test_sfl_replays_a_partly_filled_buffer_less_often():
    ctx = SyntheticContext()
    p = torch.zeros(100)
    p[:5] = 0.5  # only 5 learnable candidates for a 20-level buffer
    ctx.random_levels = lambda n, seed: make_levels(p)
    sfl = SFLSampler(SFLConfig(num_candidates=100, trials=32, buffer_size=20, buffer_ratio=0.8), OFF)
    sfl.bind(ctx)
    sfl.before_rollout(0)
    assert sfl.buffer.size() == 5
    env = RecordingEnv(ctx, 20_000)
    env.reset(sfl, torch.ones(20_000, dtype=torch.bool))
    share = (tag_kind(env.level_id) == REPLAY).float().mean().item()
    assert abs(share - 0.8 * 5 / 20) < 0.02


def test_sfl_skips_unsolvable_and_noop_solved_candidates():
    ctx = SyntheticContext()
    cand = make_levels(torch.full((40,), 0.5), noop=torch.arange(40) % 4 == 0, solvable=torch.arange(40) % 4 != 1)
    ctx.random_levels = lambda n, seed: cand
    sfl = SFLSampler(SFLConfig(num_candidates=40, trials=16, buffer_size=40), NoopFilterConfig(enabled=True, weight=0.0))
    sfl.bind(ctx)
    sfl.before_rollout(0)
    kept = sfl.buffer.levels[sfl.buffer.valid]
    assert kept["solvable"].all() and not kept["noop"].any()


def test_sfl_refreshes_only_every_refresh_every_iterations():
    sfl = bound(SFLSampler(SFLConfig(num_candidates=20, trials=2, buffer_size=5, refresh_every=3), OFF))
    for it in range(7):
        sfl.before_rollout(it)
    assert sfl.ctx.rollouts == 3  # iterations 0, 3, 6


# ------------------------------------------------------------------ PLR
def plr(**kw) -> PLRSampler:
    return bound(PLRSampler(PLRConfig(**{"buffer_size": 4, "min_fill": 0.5, **kw}), OFF))


def test_plr_inserts_new_levels_by_score_and_evicts_the_lowest():
    s = plr()
    s.before_rollout(0)
    tags = torch.tensor([-11, -12, -13])
    s.update(stats_for(tags, torch.tensor([0.3, 0.1, 0.2])))
    assert sorted(s.buffer.score[s.buffer.valid].tolist()) == pytest.approx([0.1, 0.2, 0.3])
    s.update(stats_for(torch.tensor([-14, -15, -16]), torch.tensor([0.05, 0.25, 0.1])))
    # top 4 of {0.3, 0.1, 0.2, 0.05, 0.25, 0.1}: the held 0.1 stays (ties keep held levels), the new 0.1 does not
    kept = sorted(s.buffer.score[s.buffer.valid].tolist())
    assert kept == pytest.approx([0.1, 0.2, 0.25, 0.3])
    assert -12 in s.buffer.source[s.buffer.valid].tolist() and -16 not in s.buffer.source[s.buffer.valid].tolist()
    # content is the world's random level rebuilt from the tag
    slot = s.buffer.lookup_source(torch.tensor([-15]))
    assert s.buffer.levels["p"][slot].item() == pytest.approx(14 / 1000)


def test_plr_rescores_replayed_levels_with_max_mc():
    s = plr(score="maxmc")
    s.before_rollout(0)
    s.update(stats_for(torch.tensor([-1, -2]), torch.zeros(2), value=1.0, max_return=torch.tensor([3.0, 2.0])))
    assert sorted(s.buffer.score[s.buffer.valid].tolist()) == pytest.approx([1.0, 2.0])  # max return - mean value
    slot = s.buffer.lookup_source(torch.tensor([-1]))
    uid = s.buffer.uid[slot]
    # replayed: no episode finished this time -> the stored best return (3) is used with the new mean value (0.5)
    s.update(stats_for(make_tags(REPLAY, uid), torch.zeros(1), value=0.5))
    assert s.buffer.score[slot].item() == pytest.approx(2.5)
    assert s.buffer.max_return[slot].item() == pytest.approx(3.0)


def test_plr_level_still_running_after_insertion_is_rescored_not_duplicated():
    s = plr()
    s.before_rollout(0)
    s.update(stats_for(torch.tensor([-7]), torch.tensor([0.2])))
    s.update(stats_for(torch.tensor([-7]), torch.tensor([0.4])))  # same episode, next rollout
    assert s.buffer.size() == 1 and s.buffer.score[s.buffer.valid].item() == pytest.approx(0.4)


def test_plr_replays_only_after_min_fill_and_updates_staleness():
    s = plr(replay_prob=1.0)
    env = RecordingEnv(s.ctx, 64)
    s.before_rollout(0)
    env.reset(s, torch.ones(64, dtype=torch.bool))
    assert (tag_kind(env.level_id) == RANDOM).all()  # empty buffer: nothing to replay
    s.update(stats_for(torch.tensor([-1, -2, -3]), torch.tensor([0.1, 0.9, 0.5])))
    s.before_rollout(1)
    env.reset(s, torch.ones(64, dtype=torch.bool))
    assert (tag_kind(env.level_id) == REPLAY).all()
    replayed = s.buffer.lookup(tag_serial(env.level_id)).unique()
    clock = s.clock
    s.update(stats_for(env.level_id.unique(), torch.full((env.level_id.unique().numel(),), 0.5)))
    assert (s.buffer.last_sampled[replayed] == clock).all()


def test_plr_replay_frequencies_follow_rank_and_staleness_distribution():
    s = plr(buffer_size=3, replay_prob=1.0, temperature=1.0, staleness_coef=0.5)
    s.update(stats_for(torch.tensor([-1, -2, -3]), torch.tensor([0.3, 0.2, 0.1])))  # clock 0 -> all stale by 1
    s.before_rollout(1)
    env = RecordingEnv(s.ctx, 60_000)
    env.reset(s, torch.ones(60_000, dtype=torch.bool))
    slots = s.buffer.lookup(tag_serial(env.level_id))
    freq = torch.bincount(slots, minlength=3).float() / 60_000
    ranks = torch.tensor([1.0, 2.0, 3.0])[s.buffer.score.argsort(descending=True).argsort()]
    expected = 0.5 * (1 / ranks) / (1 / ranks).sum() + 0.5 / 3
    assert torch.allclose(freq, expected, atol=0.01)


def test_robust_plr_takes_gradients_only_on_replayed_levels():
    tags = torch.tensor([[-5, make_tags(REPLAY, torch.tensor(3)).item()], [make_tags(NEW, torch.tensor(1)).item(), -2]])
    assert plr(robust=True).train_mask(tags).tolist() == [[False, True], [False, False]]
    assert plr(robust=False).train_mask(tags) is None


def test_plr_does_not_insert_unsolvable_levels():
    s = plr()
    s.ctx.levels_from_tags = lambda tags: make_levels(torch.full((tags.numel(),), 0.5),
                                                      solvable=torch.tensor([True, False]))
    s.update(stats_for(torch.tensor([-1, -2]), torch.tensor([0.1, 0.9])))
    assert s.buffer.size() == 1 and s.buffer.score[s.buffer.valid].item() == pytest.approx(0.1)


def test_noop_filter_down_weights_plr_scores_of_levels_the_noop_policy_solves():
    s = PLRSampler(PLRConfig(buffer_size=4), NoopFilterConfig(enabled=True, weight=0.25))
    ctx = SyntheticContext()
    ctx.levels_from_tags = lambda tags: make_levels(torch.full((tags.numel(),), 0.5), noop=torch.tensor([True, False]))
    s.bind(ctx)
    s.update(stats_for(torch.tensor([-1, -2]), torch.tensor([0.4, 0.4])))
    assert sorted(s.buffer.score[s.buffer.valid].tolist()) == pytest.approx([0.1, 0.4])


def test_uniform_with_noop_filter_never_samples_noop_solved_levels():
    u = bound(UniformSampler(UniformConfig(pool_size=500), NoopFilterConfig(enabled=True, weight=0.0)))
    u.before_rollout(0)
    env = RecordingEnv(u.ctx, 5000)
    env.reset(u, torch.ones(5000, dtype=torch.bool))
    assert not env.levels["noop"].any() and (tag_kind(env.level_id) == NEW).all()
    assert u.pool["noop"].any()  # there were some to filter


# ------------------------------------------------------------------ ACCEL
def filled_accel(n_levels: int = 32, **kw) -> ACCELSampler:
    s = ACCELSampler(PLRConfig(buffer_size=n_levels, min_fill=0.5, replay_prob=0.5), ACCELConfig(**kw), OFF)
    s.bind(SyntheticContext())
    s.update(stats_for(-1 - torch.arange(n_levels), torch.linspace(0.1, 0.9, n_levels)))
    return s


def test_accel_mutates_the_levels_replayed_spread_over_many_parents():
    s = filled_accel(mutants=64)
    s.before_rollout(1)
    env = RecordingEnv(s.ctx, 4000)
    env.reset(s, torch.ones(4000, dtype=torch.bool))
    replayed = s.buffer.lookup(tag_serial(env.level_id[tag_kind(env.level_id) == REPLAY])).unique()
    s.update(stats_for(env.level_id.unique(), torch.zeros(env.level_id.unique().numel())))
    assert s.before_rollout(2)["curriculum/mutants"] == 64
    parents = s.last_parents
    assert set(parents.tolist()) <= set(replayed.tolist())
    assert parents.unique().numel() >= 20, "edits keep hitting the same few levels"


def test_accel_plays_each_mutant_once_then_fresh_levels_and_inserts_good_mutants():
    s = filled_accel(mutants=8)
    s.before_rollout(1)
    env = RecordingEnv(s.ctx, 200)
    env.reset(s, torch.ones(200, dtype=torch.bool))
    s.update(stats_for(env.level_id.unique(), torch.zeros(env.level_id.unique().numel())))
    s.before_rollout(2)
    env.reset(s, torch.ones(200, dtype=torch.bool))
    new = tag_kind(env.level_id) == NEW
    assert new.sum() == 8 and env.level_id[new].unique().numel() == 8
    assert (tag_kind(env.level_id[~new]) != NEW).all()
    # a mutant that scores above everything in the buffer enters it, with the mutant's content
    tag = env.level_id[new][:1]
    p = env.levels["p"][new][0]
    s.update(stats_for(tag, torch.tensor([5.0])))
    slot = s.buffer.lookup_source(tag)
    assert slot.item() >= 0 and s.buffer.levels["p"][slot].item() == pytest.approx(p.item())


def test_accel_without_replays_makes_no_mutants():
    s = ACCELSampler(PLRConfig(buffer_size=8), ACCELConfig(mutants=4), OFF)
    s.bind(SyntheticContext())
    assert s.before_rollout(0)["curriculum/mutants"] == 0


# ------------------------------------------------------------------ checkpoints
def run_iterations(sampler, env: RecordingEnv, iterations: range) -> list[torch.Tensor]:
    """Reset every row, feed synthetic statistics; returns the tags handed out."""
    out = []
    g = torch.Generator().manual_seed(iterations.start)
    for it in iterations:
        sampler.before_rollout(it)
        mask = torch.rand(env.level_id.numel(), generator=g) < 0.5
        env.reset(sampler, mask)
        out.append(env.level_id.clone())
        tags = env.level_id.unique()
        sampler.update(stats_for(tags, torch.rand(tags.numel(), generator=g)))
    return out


@pytest.mark.parametrize("make", [
    lambda: UniformSampler(UniformConfig(pool_size=64, refresh_every=2), NoopFilterConfig(enabled=True, weight=0.5)),
    lambda: SFLSampler(SFLConfig(num_candidates=64, trials=4, buffer_size=8, refresh_every=2), OFF),
    lambda: PLRSampler(PLRConfig(buffer_size=16, min_fill=0.25), OFF),
    lambda: ACCELSampler(PLRConfig(buffer_size=16, min_fill=0.25), ACCELConfig(mutants=8), OFF),
], ids=["uniform_noop", "sfl", "plr", "accel"])
def test_sampler_state_round_trips_through_a_checkpoint_exactly(make):
    ref = make()
    ref.bind(SyntheticContext())
    env = RecordingEnv(ref.ctx, 128)
    run_iterations(ref, env, range(0, 5))
    state = ref.state_dict()
    env_state = (env.levels.clone(), env.level_id.clone(), env.resets)
    expected = run_iterations(ref, env, range(5, 9))

    restored = make()
    restored.bind(SyntheticContext())
    restored.load_state_dict(state)
    env2 = RecordingEnv(restored.ctx, 128)
    env2.levels, env2.level_id, env2.resets = env_state
    got = run_iterations(restored, env2, range(5, 9))
    for a, b in zip(got, expected):
        assert torch.equal(a, b)
    if hasattr(ref, "buffer"):
        for name in ("uid", "source", "score", "last_sampled", "max_return"):
            assert torch.equal(getattr(restored.buffer, name), getattr(ref.buffer, name)), name
        assert torch.equal(restored.buffer.levels["p"], ref.buffer.levels["p"])
