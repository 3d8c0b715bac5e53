"""Peer replay: load levels and action scripts from an .npz, run them in JaxNav, write what it observed.

Run with an interpreter that has ``jaxmarl``; called by ``benchmarks/jaxnav_parity.py``.
Input arrays: ``walls [B, H, W]``, ``start [B, A, 3]``, ``goal [B, A, 2]``, ``actions [B, T, A, 2]``.
Output arrays: ``obs [B, T, A, D]``, ``reward [B, T, A]``, ``done [B, T]``, ``pos [B, T, A, 2]``.
"""
from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    """Replay every level of the input file with its action script (no auto-reset)."""
    import jax
    import jax.numpy as jnp
    from jaxmarl import make
    from jaxmarl.environments.jaxnav.jaxnav_env import EnvInstance

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inp")
    parser.add_argument("out")
    args = parser.parse_args()
    data = np.load(args.inp)
    walls, start, goal, actions = data["walls"], data["start"], data["goal"], data["actions"]
    levels, steps, agents = actions.shape[0], actions.shape[1], actions.shape[2]
    env = make("jaxnav", num_agents=agents)
    step = jax.jit(env.step_env)
    obs_out, rew_out, done_out, pos_out = [], [], [], []
    for b in range(levels):
        inst = EnvInstance(
            agent_pos=jnp.asarray(start[b, :, :2]), agent_theta=jnp.asarray(start[b, :, 2]),
            goal_pos=jnp.asarray(goal[b]), map_data=jnp.asarray(walls[b].astype(np.int32)),
            rew_lambda=jnp.asarray(env.rew_lambda),
        )
        _, state = env.set_env_instance(inst)
        o, r, d, p = [], [], [], []
        key = jax.random.PRNGKey(0)
        for t in range(steps):
            act = {a: jnp.asarray(actions[b, t, i]) for i, a in enumerate(env.agents)}
            obs, state, rew, dones, _ = step(key, state, act)
            o.append(np.stack([np.asarray(obs[a]) for a in env.agents]))
            r.append(np.array([float(rew[a]) for a in env.agents]))
            d.append(bool(dones["__all__"]))
            p.append(np.asarray(state.pos))
        obs_out.append(o), rew_out.append(r), done_out.append(d), pos_out.append(p)
    np.savez(args.out, obs=np.array(obs_out, dtype=np.float32), reward=np.array(rew_out, dtype=np.float32),
             done=np.array(done_out), pos=np.array(pos_out, dtype=np.float32))


if __name__ == "__main__":
    main()
