"""physics2d's level table: the schema, the Warp struct the kernels read and the simulator arrays all follow it."""
from __future__ import annotations

import pytest
import torch
import warp as wp

from envs_warp.physics2d.level_load import LevelArrays, level_arrays
from envs_warp.physics2d.level_table import LEVEL_FIELDS, LEVEL_TABLE
from envs_warp.physics2d.levels import CAPACITIES, level_schema, simulator_arrays
from envs_warp.physics2d.simulator import Physics2DSim

WARP_DTYPES = {torch.float32: wp.float32, torch.int32: wp.int32, torch.bool: wp.bool}


def random_record(size: str, batch: int, seed: int) -> dict[str, torch.Tensor]:
    """Every table field filled with random values inside its schema range (body indices valid)."""
    schema = level_schema(size)
    g = torch.Generator().manual_seed(seed)
    out = {}
    for f in schema.fields:
        shape = (batch, *f.shape)
        if f.dtype == torch.bool:
            out[f.name] = torch.rand(shape, generator=g) < 0.5
        elif f.dtype == torch.int32:
            out[f.name] = torch.randint(int(f.low), int(f.high) + 1, shape, generator=g, dtype=torch.int32)
        else:
            out[f.name] = torch.rand(shape, generator=g) * 4 - 2
    return out


def test_warp_level_struct_holds_exactly_the_table_fields_the_kernels_read():
    kernel_specs = [spec for spec in LEVEL_TABLE if spec.sim is not None]
    assert list(LevelArrays.vars) == [spec.name for spec in kernel_specs]
    assert {"poly_static", "circle_static"} == {spec.name for spec in LEVEL_TABLE if spec.sim is None}
    for spec in kernel_specs:
        var = LevelArrays.vars[spec.name].type
        vec = spec.dtype == torch.float32 and spec.tail[-1:] == (2,)
        assert var.dtype == (wp.vec2 if vec else WARP_DTYPES[spec.dtype]), spec.name
        assert var.ndim == 2 + len(spec.tail) - vec, spec.name


@pytest.mark.parametrize("size", sorted(CAPACITIES))
def test_schema_and_simulator_arrays_follow_the_table(size: str):
    cap = CAPACITIES[size]
    fields = level_schema(size).fields
    assert tuple(f.name for f in fields) == LEVEL_FIELDS == tuple(spec.name for spec in LEVEL_TABLE)
    for f, spec in zip(fields, LEVEL_TABLE):
        assert f.shape == spec.shape(cap) and f.dtype == spec.dtype
    sim = Physics2DSim(size, 3)
    arrays = simulator_arrays(size)
    assert set(arrays) == {spec.sim for spec in LEVEL_TABLE if spec.sim is not None}
    for name, (shape, dtype) in arrays.items():
        t = getattr(sim, name)
        assert t.shape == (3, *shape) and t.dtype == dtype, name
    assert arrays["body_pos"] == ((cap.bodies, 2), torch.float32)
    assert arrays["joint_fixed"] == ((cap.joints,), torch.int32)  # flags are int32 for the kernels


@pytest.mark.parametrize("size", ["s", "l"])
def test_a_reset_loads_every_table_field_into_its_simulator_array(size: str):
    from tensordict import TensorDict

    cap = CAPACITIES[size]
    n, P = 4, cap.polygons
    record = random_record(size, n, seed=7)
    sim = Physics2DSim(size, n)
    sim.reset(TensorDict(record, batch_size=[n]))
    covered: dict[str, torch.Tensor] = {}
    for spec in LEVEL_TABLE:
        if spec.sim is None:
            continue
        value = record[spec.name].to(spec.sim_dtype)
        target = getattr(sim, spec.sim)
        if spec.sim.startswith("body_"):
            part = slice(0, P) if spec.entity == "poly" else slice(P, cap.bodies)
            assert torch.equal(target[:, part], value), spec.name
            covered.setdefault(spec.sim, torch.zeros(cap.bodies, dtype=torch.bool))[part] = True
        else:
            assert torch.equal(target, value), spec.name
            covered[spec.sim] = torch.ones(1, dtype=torch.bool)
    assert torch.equal(sim.body_radius[:, :P], torch.zeros(n, P))  # polygons have no radius
    covered["body_radius"][:P] = True
    assert all(bool(mask.all()) for mask in covered.values())
    assert set(covered) == set(simulator_arrays(size))


def test_level_views_are_zero_copy_views_of_rows_of_the_record():
    from envs_warp.physics2d.generator import generate_levels

    levels = generate_levels("s", 3, seed=0)
    views = level_arrays(levels, 1, 3)
    P = CAPACITIES["s"].polygons
    assert views.poly_position.dtype == wp.vec2 and views.poly_position.shape == (2, P)
    assert views.poly_vertices.dtype == wp.vec2 and views.poly_vertices.shape == (2, P, 4)
    assert views.poly_active.dtype == wp.bool
    assert views.poly_position.ptr == levels["poly_position"][1:3].data_ptr()
