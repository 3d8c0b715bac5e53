"""Scores and replay distributions against hand-computed values, including the guarded failure modes."""
from __future__ import annotations

import math

import pytest
import torch

from curricula.scores import (draw, learnability, max_mc, power_weights, rank_weights, replay_distribution,
                              staleness_weights)
from curricula.stats import LevelStats


def test_learnability_is_p_times_one_minus_p():
    p = torch.tensor([0.0, 0.1, 0.5, 0.8, 1.0])
    assert torch.allclose(learnability(p), torch.tensor([0.0, 0.09, 0.25, 0.16, 0.0]))


def test_rank_weights_apply_temperature_as_inverse_power_of_rank():
    scores = torch.tensor([0.1, 0.5, 0.3, 9.0])
    valid = torch.tensor([True, True, True, False])  # the invalid slot's high score must not take rank 1
    p = rank_weights(scores, valid, temperature=0.5)
    h = torch.tensor([1 / 9, 1.0, 1 / 4, 0.0])  # ranks 3, 1, 2 -> (1/rank) ** (1/0.5)
    assert torch.allclose(p, h / h.sum(), atol=1e-6)
    wrong = torch.tensor([1 / 3, 1.0, 1 / 2]) ** 0.5  # (1/rank) ** β, the classic mistake
    assert not torch.allclose(p[:3], wrong / wrong.sum(), atol=1e-3)


def test_rank_weights_break_ties_by_index_and_sum_to_one():
    p = rank_weights(torch.tensor([0.2, 0.2, 0.2]), torch.ones(3, dtype=torch.bool), temperature=1.0)
    assert torch.allclose(p, torch.tensor([1.0, 0.5, 1 / 3]) / (1 + 0.5 + 1 / 3))


def test_no_valid_slot_gives_zero_weights_not_nan():
    none = torch.zeros(3, dtype=torch.bool)
    for p in (rank_weights(torch.rand(3), none, 0.3), power_weights(torch.rand(3), none, 0.3),
              staleness_weights(torch.zeros(3, dtype=torch.long), 5, none)):
        assert torch.isfinite(p).all() and p.sum() == 0


def test_all_zero_scores_fall_back_to_uniform_over_valid_slots():
    valid = torch.tensor([True, True, False, True])
    p = power_weights(torch.zeros(4), valid, temperature=0.1)
    assert torch.allclose(p, torch.tensor([1 / 3, 1 / 3, 0.0, 1 / 3]))


def test_power_weights_hand_computed():
    p = power_weights(torch.tensor([1.0, 2.0, -1.0]), torch.ones(3, dtype=torch.bool), temperature=0.5)
    assert torch.allclose(p, torch.tensor([1.0, 4.0, 0.0]) / 5)


def test_staleness_weights_hand_computed_and_uniform_when_all_just_sampled():
    valid = torch.ones(3, dtype=torch.bool)
    assert torch.allclose(staleness_weights(torch.tensor([0, 2, 3]), 4, valid), torch.tensor([4.0, 2.0, 1.0]) / 7)
    assert torch.allclose(staleness_weights(torch.tensor([4, 4, 4]), 4, valid), torch.full((3,), 1 / 3))


def test_replay_distribution_mixes_score_and_staleness():
    scores = torch.tensor([0.3, 0.1])
    last = torch.tensor([1, 0])
    valid = torch.ones(2, dtype=torch.bool)
    p = replay_distribution(scores, last, clock=3, valid=valid, temperature=1.0, staleness_coef=0.25)
    p_s = torch.tensor([1.0, 0.5]) / 1.5
    p_c = torch.tensor([2.0, 3.0]) / 5
    assert torch.allclose(p, 0.75 * p_s + 0.25 * p_c)
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-6)


def test_temperature_must_be_positive():
    with pytest.raises(ValueError, match="temperature"):
        rank_weights(torch.rand(3), torch.ones(3, dtype=torch.bool), 0.0)


def test_draw_never_picks_zero_probability_slots_and_matches_frequencies():
    probs = torch.tensor([0.0, 0.5, 0.0, 0.25, 0.25, 0.0])
    u = torch.rand(200_000, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(draw(probs, u), minlength=6).float() / u.numel()
    assert counts[[0, 2, 5]].sum() == 0
    assert torch.allclose(counts, probs, atol=0.01)
    assert int(draw(probs, torch.tensor([0.0]))) == 1  # the lower edge lands on the first positive slot


def test_level_stats_group_steps_and_episodes_by_tag():
    tags = torch.tensor([[5, 5, 7, 7], [7, 7, 7, -3]])
    adv = torch.tensor([[1.0, -2.0, 0.5, 0.5], [-1.0, 3.0, 0.0, 2.0]])
    value = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    done = torch.tensor([[False, True, False, False], [False, True, False, False]])
    success = torch.tensor([[False, True, False, False], [False, False, False, False]])
    ret = torch.tensor([[0.0, 4.0, 0.0, 0.0], [0.0, -1.5, 0.0, 0.0]])
    s = LevelStats.from_rollout(tags, adv, value, done, success, ret)
    assert s.level_id.tolist() == [-3, 5, 7]
    assert s.steps.tolist() == [1, 2, 5]
    assert s.pos_advantage.tolist() == [2.0, 1.0, 4.0]
    assert s.abs_advantage.tolist() == [2.0, 3.0, 5.0]
    assert torch.allclose(s.positive_value_loss, torch.tensor([2.0, 0.5, 0.8]))
    assert torch.allclose(s.mean_value, torch.tensor([8.0, 1.5, 25 / 5]))
    assert s.episodes.tolist() == [0, 1, 1] and s.successes.tolist() == [0, 1, 0]
    assert s.max_return[0] == float("-inf") and s.max_return[1:].tolist() == [4.0, -1.5]
    assert torch.allclose(max_mc(s.max_return[1:], s.mean_value[1:]), torch.tensor([2.5, -1.5 - 5.0]))


def test_level_stats_merge_equals_stats_of_the_concatenated_rollouts():
    g = torch.Generator().manual_seed(1)
    parts = []
    for _ in range(3):
        tags = torch.randint(-3, 4, (4, 6), generator=g)
        done = torch.rand(4, 6, generator=g) < 0.3
        parts.append((tags, torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g), done,
                      done & (torch.rand(4, 6, generator=g) < 0.5), torch.randn(4, 6, generator=g)))
    merged = LevelStats.merge([LevelStats.from_rollout(*p) for p in parts])
    whole = LevelStats.from_rollout(*[torch.cat([p[i] for p in parts], 1) for i in range(6)])
    for name in ("level_id", "steps", "pos_advantage", "episodes", "successes", "max_return"):
        assert torch.allclose(getattr(merged, name).float(), getattr(whole, name).float()), name


def test_tag_kinds_separate_random_replay_new_and_untracked_levels():
    from curricula.tags import EXTERNAL, NEW, RANDOM, REPLAY, make_tags, tag_kind, tag_serial

    serial = torch.tensor([0, 5, 2**40])
    assert (tag_kind(make_tags(REPLAY, serial)) == REPLAY).all()
    assert torch.equal(tag_serial(make_tags(NEW, serial)), serial)
    assert tag_kind(torch.tensor([-1, -(2**62), 0, 7])).tolist() == [RANDOM, RANDOM, EXTERNAL, EXTERNAL]
