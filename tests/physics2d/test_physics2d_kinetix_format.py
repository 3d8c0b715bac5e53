"""Kinetix JSON levels: bundled files load and simulate; malformed files are refused naming the field.

The bundled levels ship inside the ``kinetix-env`` package and are never copied into this repo:
set ``KINETIX_LEVELS_DIR`` to its ``kinetix/levels`` folder (or install ``kinetix``) to run those tests.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import torch

from envs_warp.core.levels import LevelFileError
from envs_warp.physics2d.kinetix_format import (
    kinetix_levels_dir,
    kinetix_payload_to_level,
    load_kinetix_level,
    load_kinetix_levels,
)
from envs_warp.physics2d.levels import CAPACITIES, level_schema
from envs_warp.physics2d.simulator import Physics2DSim


def _v(x: float, y: float) -> dict:
    return {"0": x, "1": y}


def _body(pos, verts=None, radius=0.0, inv_mass=1.0, role=0, mode=1, active=True, friction=1.0) -> dict:
    verts = verts or [(0.1, 0.1), (0.1, -0.1), (-0.1, -0.1), (-0.1, 0.1)]
    return {
        "position": _v(*pos), "rotation": 0.0, "velocity": _v(0.0, 0.0), "angular_velocity": 0.0,
        "inverse_mass": inv_mass, "inverse_inertia": inv_mass, "friction": friction, "restitution": 0.0,
        "collision_mode": mode, "active": active, "n_vertices": len(verts),
        "vertices": {str(i): _v(*p) for i, p in enumerate(verts)}, "radius": radius, "role": role,
        "density": 1.0, "highlighted": False,
    }


def _wall(pos, half_w, half_h) -> dict:
    # Kinetix writes vertices clockwise, starting top-right here
    verts = [(half_w, half_h), (half_w, -half_h), (-half_w, -half_h), (-half_w, half_h)]
    return _body(pos, verts, inv_mass=0.0, mode=2)


def synthetic_small_level() -> dict:
    """A hand-written S-sized level in Kinetix's format: walls, a cart on a wheel with a motor, a thruster."""
    polygons = [
        _wall((2.5, -4.8), 2.5, 5.2), _wall((-2.5, 2.5), 2.5, 2.5), _wall((7.5, 2.5), 2.5, 2.5),
        _wall((2.5, 10.2), 2.5, 5.2),
        _body((2.0, 1.0), [(0.4, 0.1), (0.4, -0.1), (-0.4, -0.1), (-0.4, 0.1)], role=1),
    ]
    circles = [_body((2.3, 0.7), radius=0.2, role=0), _body((4.0, 0.6), radius=0.15, role=2, inv_mass=0.0)]
    joint = {
        "a_index": 4, "b_index": 5, "a_relative_pos": _v(0.3, -0.3), "b_relative_pos": _v(0.0, 0.0),
        "global_position": _v(2.3, 0.7), "active": True, "acc_impulse": _v(0.0, 0.0), "acc_r_impulse": 0.0,
        "motor_speed": 1.0, "motor_power": 1.0, "motor_on": True, "motor_has_joint_limits": False,
        "min_rotation": 0.0, "max_rotation": 1.57, "is_fixed_joint": False, "rotation": 0.0, "motor_binding": 0,
    }
    thruster = {
        "object_index": 4, "relative_position": _v(0.0, 0.0), "rotation": 0.0, "power": 1.0,
        "global_position": _v(2.0, 1.0), "active": True, "thruster_binding": 1,
    }
    return {
        "env_state": {"polygon": polygons, "circle": circles, "joint": [joint], "thruster": [thruster],
                      "gravity": _v(0.0, -9.81)},
        "env_params": {"base_friction": 0.4},
        "static_env_params": {"num_polygons": 5, "num_circles": 2, "num_joints": 1, "num_thrusters": 1},
    }


def test_synthetic_kinetix_level_maps_fields():
    lv = kinetix_payload_to_level(synthetic_small_level())
    level_schema("s").validate(lv)
    assert lv["poly_static"][0, :4].all() and not lv["poly_static"][0, 4]
    assert lv["circle_static"][0].tolist() == [False, True]
    assert lv["poly_role"][0, 4] == 1 and lv["circle_role"][0, 1] == 2
    # per-body friction = file friction x base_friction; the solver combines a pair as sqrt(fa^2 + fb^2) (Jax2D)
    assert float(lv["poly_friction"][0, 4]) == pytest.approx(1.0 * 0.4)
    # vertices became counter-clockwise about the centroid; world shape unchanged
    v = lv["poly_vertices"][0, 4]
    area = 0.5 * float((v[:, 0] * v.roll(-1, 0)[:, 1] - v[:, 1] * v.roll(-1, 0)[:, 0]).sum())
    assert area == pytest.approx(0.16, rel=1e-5)
    assert float(lv["poly_inverse_mass"][0, 4]) == pytest.approx(1 / 0.16, rel=1e-5)
    assert lv["joint_a"][0, 0] == 4 and lv["joint_b"][0, 0] == 5
    assert lv["thruster_channel"][0, 0] == 1


def test_small_kinetix_level_loads_into_larger_capacity_with_same_dynamics():
    payload = synthetic_small_level()
    small = kinetix_payload_to_level(payload, "s")
    large = kinetix_payload_to_level(payload, "l")
    P_l = CAPACITIES["l"].polygons
    assert large["joint_b"][0, 0] == P_l  # circle 0 renumbered after the larger polygon block
    sims = []
    for size, lv in (("s", small), ("l", large)):
        sim = Physics2DSim(size, 1)
        sim.reset(lv)
        for _ in range(40):
            sim.step(torch.tensor([[1.0, 0, 0, 0]]), torch.tensor([[0.0, 1.0]]))
        sims.append(sim)
    torch.testing.assert_close(sims[1].body_pos[0, 4], sims[0].body_pos[0, 4], atol=1e-4, rtol=0)
    torch.testing.assert_close(sims[1].body_pos[0, P_l], sims[0].body_pos[0, 5], atol=1e-4, rtol=0)


def _corrupt(path: str, value):
    def apply(payload: dict) -> dict:
        payload = copy.deepcopy(payload)
        keys = path.split(".")
        obj = payload
        for k in keys[:-1]:
            obj = obj[int(k)] if isinstance(obj, list) else obj[k]
        if value is _DELETE:
            del obj[keys[-1]]
        else:
            obj[keys[-1]] = value
        return payload

    return apply


_DELETE = object()

MALFORMED = {
    "no env_state": (_corrupt("env_state", _DELETE), "env_state"),
    "missing position": (_corrupt("env_state.polygon.4.position", _DELETE), "polygon[4].position"),
    "string rotation": (_corrupt("env_state.circle.0.rotation", "fast"), "circle[0].rotation"),
    "nan velocity": (_corrupt("env_state.polygon.4.angular_velocity", float("nan")), "angular_velocity"),
    "two vertices": (_corrupt("env_state.polygon.4.n_vertices", 2), "polygon[4].n_vertices"),
    "negative radius": (_corrupt("env_state.circle.0.radius", -0.1), "circle[0].radius"),
    "joint index out of range": (_corrupt("env_state.joint.0.b_index", 9), "joint[0].b_index"),
    "self joint": (_corrupt("env_state.joint.0.b_index", 4), "joint[0].b_index"),
    "bad motor binding": (_corrupt("env_state.joint.0.motor_binding", 7), "joint[0].motor_binding"),
    "bad collision mode": (_corrupt("env_state.polygon.4.collision_mode", 5), "collision_mode"),
    "bad role": (_corrupt("env_state.circle.1.role", 4), "circle[1].role"),
    "vertex list too short": (_corrupt("env_state.polygon.4.vertices", {"0": _v(0, 0)}), "polygon[4].vertices"),
    "thruster on inactive body": (
        lambda p: _corrupt("env_state.polygon.4.active", False)(_corrupt("env_state.joint.0.active", False)(p)),
        "thruster[0].object_index",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_kinetix_file_is_refused_naming_the_field(case: str, tmp_path: Path):
    corrupt, field = MALFORMED[case]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(corrupt(synthetic_small_level())))
    with pytest.raises(ValueError, match=f"field '[^']*{re.escape(field)}"):
        load_kinetix_level(path)


def test_kinetix_file_that_is_not_json_or_too_big_is_refused(tmp_path: Path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(LevelFileError, match="not valid JSON"):
        load_kinetix_level(bad)
    payload = synthetic_small_level()
    payload["env_state"]["circle"].append(copy.deepcopy(payload["env_state"]["circle"][0]))
    with pytest.raises(LevelFileError, match="env_state.circle"):
        kinetix_payload_to_level(payload, "s")


LEVELS_DIR = kinetix_levels_dir()
needs_bundled = pytest.mark.skipif(
    LEVELS_DIR is None,
    reason="Kinetix's bundled levels are not available: set KINETIX_LEVELS_DIR to the kinetix/levels folder "
    "of the kinetix-env wheel, or install the kinetix package",
)


@needs_bundled
def test_bundled_kinetix_levels_load_in_every_fitting_size_and_simulate():
    files = sorted(LEVELS_DIR.glob("*/*.json"))
    assert files, f"no level files under {LEVELS_DIR}"
    sizes = [s for s in ("s", "m", "l")]
    for f in files:
        native = f.parent.name if f.parent.name in CAPACITIES else None
        lv = load_kinetix_level(f)
        if native:
            assert lv["poly_active"].shape[1] == CAPACITIES[native].polygons
        for size in sizes[sizes.index(native or "l"):]:
            level_schema(size).validate(load_kinetix_level(f, size))
    batch = load_kinetix_levels(files, "l")
    sim = Physics2DSim("l", len(files))
    sim.reset(batch)
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        sim.step(torch.rand(len(files), 4, generator=g) * 2 - 1, torch.rand(len(files), 2, generator=g))
    assert torch.isfinite(sim.body_pos).all() and torch.isfinite(sim.body_vel).all()
