"""Jax2D side of the engine tests' analytic scenes: the figures our tests compare the Jax2D models with.

Run in an interpreter that has ``kinetix-env`` (which brings ``jax2d``); prints one JSON line per scene,
measured exactly as ``tests/physics2d/test_physics2d_engine.py`` measures ours (env step = 2 substeps of
1/60 s, Kinetix's defaults):

- ``bounce``: a ball (radius 0.2 m, restitution 0.8) dropped from 1.5 m onto a static floor (restitution 1);
  the apex [m] of the first rebound, against e^2 h0 = 0.96 m.
- ``pendulum``: a disc (radius 0.05 m, density 50) hung 1 m below a static pivot at 0.1 rad; the period [s]
  from downward zero crossings over 8 s, against the small-angle formula.

    python benchmarks/peers/kinetix_scenes.py
"""
from __future__ import annotations

import json
import math
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax2d.engine import PhysicsEngine, create_empty_sim  # noqa: E402
from jax2d.scene import add_circle_to_scene, add_rectangle_to_scene, add_revolute_joint_to_scene  # noqa: E402
from jax2d.sim_state import SimParams, StaticSimParams  # noqa: E402

STATIC = StaticSimParams(num_polygons=5, num_circles=2, num_joints=1, num_thrusters=1)
PARAMS = SimParams()
SUBSTEPS = 2


def run(state, seconds: float, body: int):
    """Positions [T, 2] of circle ``body`` after every env step (2 substeps) for ``seconds``."""
    engine = PhysicsEngine(STATIC)
    actions = jnp.zeros(STATIC.num_joints + STATIC.num_thrusters)

    def substep(s, _):
        s, _ = engine.step(s, PARAMS, actions)
        return s, None

    def env_step(s, _):
        s, _ = jax.lax.scan(substep, s, None, length=SUBSTEPS)
        return s, s.circle.position[body]

    steps = round(seconds / (PARAMS.dt * SUBSTEPS))
    _, pos = jax.jit(lambda s: jax.lax.scan(env_step, s, None, length=steps))(state)
    return jax.device_get(pos)


def bounce() -> dict:
    """Apex of the first rebound of a dropped ball."""
    e, radius, h0 = 0.8, 0.2, 1.5
    state = create_empty_sim(STATIC, add_floor=False, add_walls_and_ceiling=False)
    state, _ = add_rectangle_to_scene(state, STATIC, jnp.array([2.5, -2.5]), jnp.array([15.0, 5.0]),
                                      restitution=1.0, fixated=True)
    state, (ball, _) = add_circle_to_scene(state, STATIC, jnp.array([2.5, radius + h0]), radius, restitution=e)
    ys = [float(p[1]) - radius for p in run(state, 2.0, int(ball))]
    first_bottom = next(i for i in range(1, len(ys)) if ys[i] > ys[i - 1])
    return {"scene": "bounce", "apex": max(ys[first_bottom:]), "e2_h0": e * e * h0}


def pendulum() -> dict:
    """Small-angle period of a disc on a revolute joint."""
    length, radius, theta0 = 1.0, 0.05, 0.1
    state = create_empty_sim(STATIC, add_floor=False, add_walls_and_ceiling=False)
    state, (_, pivot) = add_rectangle_to_scene(state, STATIC, jnp.array([2.5, 4.0]), jnp.array([0.05, 0.05]),
                                               fixated=True)
    bob_pos = jnp.array([2.5 + length * math.sin(theta0), 4.0 - length * math.cos(theta0)])
    state, (bob, bob_global) = add_circle_to_scene(state, STATIC, bob_pos, radius, density=50.0)
    state, _ = add_revolute_joint_to_scene(state, STATIC, pivot, bob_global, jnp.zeros(2),
                                           jnp.array([2.5, 4.0]) - bob_pos)
    xs = [float(p[0]) - 2.5 for p in run(state, 8.0, int(bob))]
    dt = PARAMS.dt * SUBSTEPS
    crossings = [i + xs[i] / (xs[i] - xs[i + 1]) for i in range(len(xs) - 1) if xs[i] > 0 >= xs[i + 1]]
    period = (crossings[-1] - crossings[0]) / (len(crossings) - 1) * dt
    expected = 2 * math.pi * math.sqrt((length ** 2 + 0.5 * radius ** 2) / (9.81 * length))
    return {"scene": "pendulum", "period": period, "small_angle_period": expected,
            "rel_error": period / expected - 1.0}


def main() -> None:
    """Print one JSON line per scene."""
    for scene in (bounce, pendulum):
        print(json.dumps(scene()), flush=True)


if __name__ == "__main__":
    main()
