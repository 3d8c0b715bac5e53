"""Warp kernels of the bandit world: random arm probabilities from (seed, counter), and the pull.

Random streams: a level is drawn from ``rand_init(seed, 2·counter)`` (the row's reset counter) and a
pull from ``rand_init(seed, 2·pulls + 1)`` (the row's lifetime pull count), so the two never share a
stream and every outcome is a pure function of the row's seed and counters (exact resume).
"""
from __future__ import annotations

import warp as wp


@wp.kernel
def generate_levels(seed: wp.array(dtype=wp.int32), counter: wp.array(dtype=wp.int32), draw: wp.array(dtype=wp.bool),
                    low: float, high: float, probs_out: wp.array2d(dtype=float)):
    """Arm probabilities uniform in ``[low, high]`` from the row's (seed, reset counter), for rows set in ``draw``."""
    env = wp.tid()
    if not draw[env]:
        return
    state = wp.rand_init(seed[env], 2 * counter[env])
    for arm in range(probs_out.shape[1]):
        probs_out[env, arm] = wp.randf(state, low, high)


@wp.kernel
def pull(action: wp.array(dtype=wp.int64), probs: wp.array2d(dtype=float), seed: wp.array(dtype=wp.int32),
         max_steps: int, pulls: wp.array(dtype=wp.int32), step_count: wp.array(dtype=wp.int32),
         reward_out: wp.array(dtype=float), best_out: wp.array(dtype=wp.bool),
         terminated_out: wp.array(dtype=wp.bool)):
    """Pull the chosen arm: reward 1 with its probability; ``best`` iff no arm has a higher probability."""
    env = wp.tid()
    n_arms = probs.shape[1]
    arm = wp.clamp(int(action[env]), 0, n_arms - 1)
    p = probs[env, arm]
    state = wp.rand_init(seed[env], 2 * pulls[env] + 1)
    paid = wp.randf(state) < p
    top = float(probs[env, 0])
    for other in range(1, n_arms):
        top = wp.max(top, probs[env, other])
    pulls[env] = pulls[env] + 1
    step_count[env] = step_count[env] + 1
    reward_out[env] = wp.where(paid, 1.0, 0.0)
    best_out[env] = p >= top
    terminated_out[env] = step_count[env] >= max_steps
