"""Peer replay: step XLand-MiniGrid (``xminigrid`` 0.9.3, JAX) from given states with given actions.

Run with an interpreter that has ``xminigrid`` installed (``benchmarks/xland_parity.py`` does). Reads an
``.npz`` of N start states and T actions per env, steps all N under ``jax.vmap`` for T steps (no
auto-reset) and writes every step's grid, agent, pocket, reward, episode flags, view and whether the
rules changed anything. Also ``--layouts`` mode: reset grids of every layout for the layout check.

Input keys: ``grid [N, H, W, 2]``, ``pos [N, 2]`` (y, x), ``dir [N]``, ``pocket [N, 2]``, ``step_num [N]``,
``goal [N, 5]``, ``rules [N, R, 7]``, ``actions [T, N]``, ``max_steps []``, ``view_size []``.
"""
from __future__ import annotations

import argparse

import numpy as np


def replay(data: dict) -> dict:
    """Run the T steps; every output has a leading ``[T, N]``."""
    import jax
    import jax.numpy as jnp
    from xminigrid.core.actions import take_action
    from xminigrid.core.rules import check_rule
    from xminigrid.envs.xland import XLandMiniGrid
    from xminigrid.types import AgentState, EnvCarry, State, StepType, TimeStep

    grid = jnp.asarray(data["grid"], dtype=jnp.uint8)
    n, h, w = grid.shape[:3]
    env = XLandMiniGrid()
    params = env.default_params(height=h, width=w, view_size=int(data["view_size"]), max_steps=int(data["max_steps"]))

    def start(g, pos, d, pocket, step_num, goal, rules):
        agent = AgentState(position=pos, direction=d, pocket=pocket)
        state = State(key=jax.random.key(0), step_num=step_num, grid=g, agent=agent, goal_encoding=goal,
                      rule_encoding=rules, carry=EnvCarry())
        return TimeStep(state=state, step_type=StepType.MID, reward=jnp.asarray(0.0), discount=jnp.asarray(1.0),
                        observation=jnp.zeros((params.view_size, params.view_size, 2), dtype=jnp.uint8))

    def one(ts, action):
        s = ts.state
        g_act, a_act, changed = take_action(s.grid, s.agent, action)
        g_rule, a_rule = check_rule(s.rule_encoding, g_act, a_act, action, changed)
        fired = jnp.any(g_rule != g_act) | jnp.any(a_rule.pocket != a_act.pocket)
        nxt = env.step(params, ts, action)
        out = dict(grid=nxt.state.grid, pos=nxt.state.agent.position, dir=nxt.state.agent.direction,
                   pocket=nxt.state.agent.pocket, reward=nxt.reward, terminated=nxt.discount == 0.0,
                   truncated=nxt.state.step_num == params.max_steps, step_num=nxt.state.step_num,
                   obs=nxt.observation, fired=fired)
        return nxt, out

    @jax.jit
    def run(ts, actions):
        return jax.lax.scan(lambda c, a: jax.vmap(one)(c, a), ts, actions)[1]

    ts = jax.vmap(start)(grid, jnp.asarray(data["pos"], jnp.int32), jnp.asarray(data["dir"], jnp.int32),
                         jnp.asarray(data["pocket"], jnp.uint8), jnp.asarray(data["step_num"], jnp.int32),
                         jnp.asarray(data["goal"], jnp.uint8), jnp.asarray(data["rules"], jnp.uint8))
    out = run(ts, jnp.asarray(data["actions"], jnp.int32))
    return {k: np.asarray(v) for k, v in out.items()}


def layouts(sizes: list[str], count: int) -> dict:
    """Reset grids ``[count, H, W, 2]`` of each ``R?-HxW`` (empty ruleset), keyed by that name."""
    import jax
    from xminigrid.envs.xland import XLandMiniGrid

    env = XLandMiniGrid()
    out = {}
    for name in sizes:
        kind, size = name.split("-")
        h, w = (int(v) for v in size.split("x"))
        params = env.default_params(height=h, width=w, grid_type=kind)
        keys = jax.random.split(jax.random.key(0), count)
        out[name] = np.asarray(jax.vmap(env.reset, in_axes=(None, 0))(params, keys).state.grid)
    return out


def main() -> None:
    """Replay (``--input``/``--output``) or dump layouts (``--layouts``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input")
    parser.add_argument("--output", required=True)
    parser.add_argument("--layouts", nargs="*", default=None, help="R?-HxW names: dump reset grids instead")
    parser.add_argument("--count", type=int, default=64)
    args = parser.parse_args()
    import jax

    jax.config.update("jax_platform_name", "cpu")
    if args.layouts:
        np.savez(args.output, **layouts(args.layouts, args.count))
        return
    with np.load(args.input) as data:
        out = replay({k: data[k] for k in data.files})
    np.savez_compressed(args.output, **out)


if __name__ == "__main__":
    main()
