"""Peer timing: JaxNav (jaxmarl) env-steps/s with random actions, jit+vmap, run by env_throughput.py.

Run with an interpreter that has ``jaxmarl`` installed; prints one JSON object per line.
"""
from __future__ import annotations

import argparse
import json
import time


def bench(num_envs: int, num_agents: int, steps: int, action_type: str) -> dict:
    import jax
    import jax.numpy as jnp
    from jaxmarl import make

    env = make("jaxnav", num_agents=num_agents, act_type="Discrete" if action_type == "discrete" else "Continuous")
    agents = env.agents
    low = jnp.array([0.0, -jnp.pi / 6])
    high = jnp.array([1.0, jnp.pi / 6])

    def random_actions(key):
        if action_type == "discrete":
            acts = jax.random.randint(key, (num_agents,), 0, 15)
        else:
            acts = jax.random.uniform(key, (num_agents, 2), minval=low, maxval=high)
        return {a: acts[i] for i, a in enumerate(agents)}

    def one_env_step(carry, _):
        key, state = carry
        key, k_act, k_step = jax.random.split(key, 3)
        _, state, _, _, _ = env.step(k_step, state, random_actions(k_act))  # auto-resets finished episodes
        return (key, state), None

    @jax.jit
    def run(keys, states):
        def batched(carry, x):
            keys, states = carry
            (keys, states), _ = jax.vmap(one_env_step, in_axes=((0, 0), None))((keys, states), x)
            return (keys, states), None

        (keys, states), _ = jax.lax.scan(batched, (keys, states), None, length=steps)
        return keys, states

    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    _, states = jax.vmap(env.reset)(keys)
    out = run(keys, states)  # compile + warm-up
    jax.block_until_ready(out)
    t0 = time.perf_counter()
    out = run(*out)
    jax.block_until_ready(out)
    dt = time.perf_counter() - t0
    sps = num_envs * steps / dt
    return {"peer": "jaxnav", "num_envs": num_envs, "num_agents": num_agents, "steps": steps,
            "env_steps_per_s": sps, "robot_steps_per_s": sps * num_agents, "jax": jax.__version__}


def main() -> None:
    """Parse a list of env counts and print one JSON line per configuration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", type=int, nargs="+", required=True)
    parser.add_argument("--agents", type=int, nargs="+", default=[1])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--action-type", default="continuous")
    args = parser.parse_args()
    for a in args.agents:
        for n in args.envs:
            print(json.dumps(bench(n, a, args.steps, args.action_type)), flush=True)


if __name__ == "__main__":
    main()
