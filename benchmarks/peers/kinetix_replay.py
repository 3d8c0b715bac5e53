"""Kinetix peer for the parity check: outcome, step and early trajectory of fixed action scripts.

Run in an interpreter that has ``kinetix-env``; prints one JSON line per (level, script):
``{"size", "level", "script", "outcome": "success"|"death"|"timeout", "step", "reward", "pos", "rot"}``
where ``step`` is the 1-based env step at which the episode ended, and ``pos`` [T][NB][2] [m] / ``rot``
[T][NB] [rad] are every body slot's position and rotation after each of the first ``--traj-steps``
steps (polygons then circles, the slot order of the level file). Scripts are multi-discrete actions
(4 motor channels in {0 off, 1 forward, 2 backward}, then 2 thruster channels in {0, 1}), named as in
``benchmarks/kinetix_parity.py``: ``noop``, ``motor`` (every motor forward), ``thruster`` (every
thruster on), ``motor<c>+`` / ``motor<c>-`` (only motor channel c, forward / backward) and
``thruster<c>`` (only thruster channel c).

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

MOTORS, THRUSTERS = 4, 2


def scripts() -> dict[str, list[int]]:
    """Every script name -> its multi-discrete action."""
    out = {"noop": [0] * 6, "motor": [1] * MOTORS + [0] * THRUSTERS, "thruster": [0] * MOTORS + [1] * THRUSTERS}
    for c in range(MOTORS):
        for sign, code in (("+", 1), ("-", 2)):
            a = [0] * 6
            a[c] = code
            out[f"motor{c}{sign}"] = a
    for c in range(THRUSTERS):
        a = [0] * 6
        a[MOTORS + c] = 1
        out[f"thruster{c}"] = a
    return out


SCRIPTS = scripts()


def replay(size: str, names_run: list[str], traj_steps: int) -> list[dict]:
    """Every bundled level of ``size`` under every script, batched: first done step, reward, early trajectory."""
    names = sorted(f"{size}/{p.name}" for p in (Path(BASE_DIR) / size).glob("*.json"))
    static = static_env_params_from_size(size)
    params = EnvParams()
    levels, _ = load_evaluation_levels(names, static_env_params_override=static)
    env = make_kinetix_env(ActionType.MULTI_DISCRETE, ObservationType.SYMBOLIC_FLAT, None, params, static,
                           auto_reset=False)
    n = len(names)
    rng = jax.random.PRNGKey(0)
    _, state0 = jax.vmap(env.reset, (0, None, 0))(jax.random.split(rng, n), params, levels)

    def one(carry, key):
        state, action = carry
        _, state, reward, done, _ = jax.vmap(env.step, (0, 0, 0, None))(
            jax.random.split(key, n), state, action, params)
        sim = state.env_state if hasattr(state, "env_state") else state
        pos = jnp.concatenate([sim.polygon.position, sim.circle.position], axis=1)  # [n, NB, 2]
        rot = jnp.concatenate([sim.polygon.rotation, sim.circle.rotation], axis=1)  # [n, NB]
        return (state, action), (reward, done, pos, rot)

    run = jax.jit(lambda s, a, k: jax.lax.scan(one, (s, a), jax.random.split(k, params.max_timesteps)))
    out = []
    for script in names_run:
        action = jnp.tile(jnp.asarray(SCRIPTS[script], dtype=jnp.int32), (n, 1))
        _, (rewards, dones, pos, rot) = run(state0, action, rng)  # [T, n, ...]
        dones, rewards = jax.device_get(dones), jax.device_get(rewards)
        pos, rot = jax.device_get(pos[:traj_steps]), jax.device_get(rot[:traj_steps])
        for i, name in enumerate(names):
            steps = [t for t in range(dones.shape[0]) if dones[t, i]]
            t = steps[0] if steps else dones.shape[0] - 1
            r = float(rewards[t, i])
            outcome = "success" if r > 0.5 else ("death" if r < -0.5 else "timeout")
            traj_pos = [[[round(float(x), 5) for x in p] for p in pos[k, i]] for k in range(len(pos))]
            traj_rot = [[round(float(x), 5) for x in rot[k, i]] for k in range(len(rot))]
            out.append({"size": size, "level": name, "script": script, "outcome": outcome, "step": t + 1,
                        "reward": r, "pos": traj_pos, "rot": traj_rot})
    return out


def main() -> None:
    """Print one JSON line per (level, script)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=["s", "m", "l"])
    parser.add_argument("--scripts", nargs="+", default=list(SCRIPTS))
    parser.add_argument("--traj-steps", type=int, default=20, help="steps of trajectory to report")
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    for size in args.sizes:
        for row in replay(size, args.scripts, args.traj_steps):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
