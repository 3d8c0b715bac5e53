"""Peer timing: XLand-MiniGrid (``xminigrid`` 0.9.3) env-steps/s on JAX, random actions, auto-reset, jit+vmap.

Run with an interpreter that has ``xminigrid`` installed (``benchmarks/xland_throughput.py`` does). Each env
runs its own ruleset drawn from an ``.npz`` ruleset file (vmapped params, as XLand-MiniGrid's meta-RL
training does) and auto-resets with ``GymAutoResetWrapper``; the loop is ``lax.scan`` over ``jax.vmap(step)``
with actions drawn inside the jitted function, as upstream's ``scripts/benchmark_xland.py``. Prints one
JSON object per line.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def bench(layout: str, rulesets: str, num_envs: int, steps: int, repeats: int, same_ruleset: bool) -> dict:
    """Steps per second of one configuration (best of ``repeats`` timed runs after compilation)."""
    import jax
    import jax.numpy as jnp
    import xminigrid
    from xminigrid.types import RuleSet
    from xminigrid.wrappers import GymAutoResetWrapper

    env, params = xminigrid.make(f"XLand-MiniGrid-{layout}")
    env = GymAutoResetWrapper(env)
    with np.load(rulesets) as data:
        goals, rules, tiles = (jnp.asarray(data[k]) for k in ("goals", "rules", "init_tiles"))
    pick = jax.random.randint(jax.random.key(1), (num_envs,), 0, goals.shape[0])
    if same_ruleset:
        pick = jnp.zeros_like(pick)
    rulesets_per_env = RuleSet(goal=goals[pick], rules=rules[pick], init_tiles=tiles[pick])
    env_params = jax.vmap(lambda r: params.replace(ruleset=r))(rulesets_per_env)

    @jax.jit
    def run(key):
        key, act_key = jax.random.split(key)
        actions = jax.random.randint(act_key, (steps, num_envs), 0, env.num_actions(params))
        ts = jax.vmap(env.reset)(env_params, jax.random.split(key, num_envs))

        def body(ts, action):
            return jax.vmap(env.step)(env_params, ts, action), None

        return jax.lax.scan(body, ts, actions)[0]

    key = jax.random.key(0)
    t0 = time.perf_counter()
    run(key).state.grid.block_until_ready()
    compile_s = time.perf_counter() - t0
    best, cpu, wall = float("inf"), 0.0, 0.0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run(key).state.grid.block_until_ready()
        dt = time.perf_counter() - t0
        best, cpu, wall = min(best, dt), cpu + time.process_time() - c0, wall + dt
    return {"peer": "xminigrid", "layout": layout, "rulesets": rulesets, "num_envs": num_envs, "steps": steps,
            "env_steps_per_s": num_envs * steps / best, "compile_s": compile_s, "jax": jax.__version__,
            "backend": jax.default_backend(), "same_ruleset": same_ruleset,
            "cpu_per_wall": cpu / wall}  # cores XLA kept busy during the timed runs


def main() -> None:
    """One JSON line per env count."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layout", required=True, help="e.g. R4-13x13")
    parser.add_argument("--rulesets", required=True, help=".npz ruleset file")
    parser.add_argument("--envs", type=int, nargs="+", required=True)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--same-ruleset", action="store_true", help="every env runs ruleset 0 (upstream's script)")
    args = parser.parse_args()
    for n in args.envs:
        print(json.dumps(bench(args.layout, args.rulesets, n, args.steps, args.repeats, args.same_ruleset)), flush=True)


if __name__ == "__main__":
    main()
