"""Kinetix peer for the parity check: outcome and step of fixed action scripts on its bundled levels.

Run in an interpreter that has ``kinetix-env``; prints one JSON line per (level, script):
``{"size", "level", "script", "outcome": "success"|"death"|"timeout", "step", "reward"}`` where
``step`` is the 1-based env step at which the episode ended. Scripts (multi-discrete actions):
``noop`` (all zero), ``motor`` (every motor channel forward), ``thruster`` (every thruster on).

    python benchmarks/peers/kinetix_replay.py --sizes s m l
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import jax
import jax.numpy as jnp
from kinetix.environment import EnvParams, make_kinetix_env
from kinetix.environment.spaces import ActionType, ObservationType
from kinetix.environment.utils import static_env_params_from_size
from kinetix.util.saving import BASE_DIR, load_evaluation_levels

SCRIPTS = {
    "noop": [0, 0, 0, 0, 0, 0],
    "motor": [1, 1, 1, 1, 0, 0],
    "thruster": [0, 0, 0, 0, 1, 1],
}


def replay(size: str, scripts: list[str]) -> list[dict]:
    """Every bundled level of ``size`` under every script, batched: first done step and its reward."""
    names = sorted(f"{size}/{p.name}" for p in (Path(BASE_DIR) / size).glob("*.json"))
    static = static_env_params_from_size(size)
    params = EnvParams()
    levels, _ = load_evaluation_levels(names, static_env_params_override=static)
    env = make_kinetix_env(ActionType.MULTI_DISCRETE, ObservationType.SYMBOLIC_FLAT, None, params, static,
                           auto_reset=False)
    n = len(names)
    rng = jax.random.PRNGKey(0)
    _, state0 = jax.vmap(env.reset, (0, None, 0))(jax.random.split(rng, n), params, levels)
    out = []
    for script in scripts:
        action = jnp.tile(jnp.asarray(SCRIPTS[script], dtype=jnp.int32), (n, 1))

        def one(state, key):
            _, state, reward, done, _ = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(key, n), state, action, params)
            return state, (reward, done)

        run = jax.jit(lambda s, k: jax.lax.scan(one, s, jax.random.split(k, params.max_timesteps)))
        _, (rewards, dones) = run(state0, rng)  # [T, n]
        dones = jax.device_get(dones)
        rewards = jax.device_get(rewards)
        for i, name in enumerate(names):
            steps = [t for t in range(dones.shape[0]) if dones[t, i]]
            t = steps[0] if steps else dones.shape[0] - 1
            r = float(rewards[t, i])
            outcome = "success" if r > 0.5 else ("death" if r < -0.5 else "timeout")
            out.append({"size": size, "level": name, "script": script, "outcome": outcome, "step": t + 1,
                        "reward": r})
    return out


def main() -> None:
    """Print one JSON line per (level, script)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=["s", "m", "l"])
    parser.add_argument("--scripts", nargs="+", default=list(SCRIPTS))
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    for size in args.sizes:
        for row in replay(size, args.scripts):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
