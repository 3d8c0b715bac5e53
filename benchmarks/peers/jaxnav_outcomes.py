"""Peer outcomes: JaxNav (jaxmarl) per-robot episode outcomes under a scripted policy, run by jaxnav_outcomes.py.

Run with an interpreter that has ``jaxmarl``; prints one JSON object per configuration. Every one of ``--episodes``
envs plays exactly one episode from its own reset (``jit(vmap)`` of ``step_env``, no auto-reset,
stopped once every episode has ended). A robot's outcome is its first terminal event from JaxNav's
per-agent infos (``MapC``, ``AgentC``, ``GoalR``, ``TimeO``); same-step ties count as map collision,
then robot collision, then goal, as in ``envs_warp.lidarnav.task``.
"""
from __future__ import annotations

import argparse
import json

# Where the SFL paper's JaxNav environment differs from the package defaults (kept in step with
# envs_warp.lidarnav.config.PAPER_FIELDS; sfl/train/config/env/jaxnav.yaml of sampling-for-learnability).
PRESETS = {
    "jaxnav": {"goal_radius": 0.5, "map_params": {"map_size": (11, 11), "fill": 0.3}},
    "jaxnav_paper": {"goal_radius": 0.3,
                     "map_params": {"map_size": (11, 11), "fill": 0.6, "sample_test_case_type": "grid"}},
}
CODES = ("running", "goal", "map_collision", "robot_collision", "timeout")


def run(preset: str, agents: int, policy: str, episodes: int, seed: int) -> dict:
    """Outcome counts ``[5]`` over all robots and the mean episode length of ``episodes`` episodes."""
    import jax
    import jax.numpy as jnp
    from jaxmarl import make

    env = make("jaxnav", num_agents=agents, **PRESETS[preset])
    nb = env.lidar_num_beams
    low, high = jnp.array([0.0, -jnp.pi / 6]), jnp.array([1.0, jnp.pi / 6])

    def act(key, obs):  # obs [A, D] -> [A, 2] (v, w) targets
        if policy == "random":
            return jax.random.uniform(key, (agents, 2), minval=low, maxval=high)
        bearing = obs[:, nb + 3] * jnp.pi
        w = jnp.clip(2.0 * bearing, -jnp.pi / 6, jnp.pi / 6)
        v = env.max_v * jnp.maximum(jnp.cos(bearing), 0.0) ** 4
        return jnp.stack([v, w], axis=-1)

    def one_step(key, state, obs, outcome, length):
        key, k_act, k_step = jax.random.split(key, 3)
        a = act(k_act, obs)
        obs_d, state2, _, dones, info = env.step_env(k_step, state, {n: a[i] for i, n in enumerate(env.agents)})
        event = jnp.where(info["MapC"] > 0, 2, jnp.where(info["AgentC"] > 0, 3, jnp.where(
            info["GoalR"] > 0, 1, jnp.where(info["TimeO"] > 0, 4, 0))))
        live = length == 0  # episode still running before this step
        outcome = jnp.where(live & (outcome == 0), event, outcome)
        length = jnp.where(live & dones["__all__"], state2.step, length)
        obs2 = jnp.stack([obs_d[n] for n in env.agents])
        return key, state2, obs2, outcome, length

    @jax.jit
    def play(keys):
        obs_d, states = jax.vmap(env.reset)(keys)
        obs = jnp.stack([obs_d[n] for n in env.agents], axis=1)  # [E, A, D]
        carry = (keys, states, obs, jnp.zeros((episodes, agents), jnp.int32), jnp.zeros((episodes,), jnp.int32))

        def cond(c):
            return jnp.any(c[4] == 0)

        def body(c):
            return jax.vmap(one_step)(*c)

        return jax.lax.while_loop(cond, body, carry)

    keys = jax.random.split(jax.random.PRNGKey(seed), episodes)
    _, _, _, outcome, length = play(keys)
    counts = jnp.bincount(outcome.reshape(-1), length=len(CODES))
    return {"peer": "jaxnav", "preset": preset, "agents": agents, "policy": policy, "episodes": episodes,
            "counts": [int(c) for c in counts], "mean_length": float(length.mean()), "jax": jax.__version__}


def main() -> None:
    """Run every (preset, robots, policy) combination and print one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presets", nargs="+", choices=sorted(PRESETS), default=sorted(PRESETS))
    parser.add_argument("--agents", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--policies", nargs="+", choices=("random", "turn_to_goal"), default=["random", "turn_to_goal"])
    parser.add_argument("--episodes", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for preset in args.presets:
        for agents in args.agents:
            for policy in args.policies:
                print(json.dumps(run(preset, agents, policy, args.episodes, args.seed)), flush=True)


if __name__ == "__main__":
    main()
