"""Kinetix peer timing: env-steps/s of ``kinetix-env`` (JAX) under random multi-discrete actions.

Run in an interpreter that has ``kinetix-env`` (e.g. a venv outside the repo); prints one JSON line
per configuration. Levels: ``list`` auto-resets into Kinetix's bundled hand-designed levels of the
size (the same levels our side loads), ``random`` samples a fresh random level at every reset
inside the step (Kinetix's own random-level training mode). The step loop is one jitted
``lax.scan`` over ``vmap(env.step)``; compile time is reported separately.

    python benchmarks/peers/kinetix_bench.py --sizes s m l --envs 64 512 2048 --steps 50
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import jax
from kinetix.environment import EnvParams, make_kinetix_env
from kinetix.environment.spaces import ActionType, ObservationType
from kinetix.environment.ued.ued import make_reset_fn_list_of_levels, make_reset_fn_sample_kinetix_level
from kinetix.environment.utils import static_env_params_from_size
from kinetix.util.saving import BASE_DIR


def level_names(size: str) -> list[str]:
    """Bundled level names of one size, relative to Kinetix's levels folder (``s/h0_weak_thrust.json``)."""
    return sorted(f"{size}/{p.name}" for p in (Path(BASE_DIR) / size).glob("*.json"))


def bench(size: str, num_envs: int, steps: int, levels: str, obs: str) -> dict:
    """Time ``steps`` batched steps (after a compile-and-warm-up call)."""
    static = static_env_params_from_size(size)
    params = EnvParams()
    if levels == "list":
        reset_fn = make_reset_fn_list_of_levels(level_names(size), static)
    else:
        reset_fn = make_reset_fn_sample_kinetix_level(params, static)
    env = make_kinetix_env(ActionType.MULTI_DISCRETE, ObservationType.from_string(obs), reset_fn, params, static)
    space = env.action_space(params)
    rng = jax.random.PRNGKey(0)
    _, state = jax.vmap(env.reset, (0, None))(jax.random.split(rng, num_envs), params)

    def one(carry, _):
        state, rng = carry
        rng, ka, ks = jax.random.split(rng, 3)
        actions = jax.vmap(space.sample)(jax.random.split(ka, num_envs))
        _, state, reward, done, _ = jax.vmap(env.step, (0, 0, 0, None))(
            jax.random.split(ks, num_envs), state, actions, params)
        return (state, rng), done.sum()

    @jax.jit
    def run(state, rng):
        return jax.lax.scan(one, (state, rng), None, length=steps)

    t0 = time.perf_counter()
    (state, rng), _ = jax.block_until_ready(run(state, rng))
    compile_s = time.perf_counter() - t0
    # the state that comes back differs in weak types from the one reset made: a second trace
    (state, rng), _ = jax.block_until_ready(run(state, rng))
    t0 = time.perf_counter()
    (state, rng), dones = jax.block_until_ready(run(state, rng))
    dt = time.perf_counter() - t0
    return {"peer": "kinetix", "size": size, "num_envs": num_envs, "steps": steps, "levels": levels,
            "observation": obs, "env_steps_per_s": num_envs * steps / dt, "first_call_s": compile_s,
            "episodes_done": int(dones.sum()), "jax": jax.__version__, "jax_devices": str(jax.devices())}


def main() -> None:
    """Parse the configurations and print one JSON line per timing."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=["s", "m", "l"])
    parser.add_argument("--envs", type=int, nargs="+", default=[64, 512, 2048])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--levels", choices=["list", "random"], default="list")
    parser.add_argument("--obs", default="symbolic_flat", help="symbolic_flat, symbolic_entity, pixels")
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    for size in args.sizes:
        for n in args.envs:
            print(json.dumps(bench(size, n, args.steps, args.levels, args.obs)), flush=True)


if __name__ == "__main__":
    main()
