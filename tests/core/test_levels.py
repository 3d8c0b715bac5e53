"""Level schema validation and level files: round trips and refusals that name the field."""
from __future__ import annotations

import json

import pytest
import torch
from tensordict import TensorDict

from envs_warp.core.levels import LevelField, LevelFileError, LevelSchema

SCHEMA = LevelSchema(
    world="toy",
    version=1,
    fields=(
        LevelField("grid", (2, 3), torch.uint8, 0, 1, grid=True),
        LevelField("pos", (2,), torch.float32, 0.0, 5.0),
        LevelField("count", (), torch.int32, 0, 10),
    ),
)


def toy_levels(n: int = 3) -> TensorDict:
    return TensorDict(
        {
            "grid": torch.randint(0, 2, (n, 2, 3), dtype=torch.uint8),
            "pos": torch.rand(n, 2) * 5,
            "count": torch.arange(n, dtype=torch.int32),
        },
        batch_size=[n],
    )


@pytest.mark.parametrize("suffix", [".json", ".safetensors"])
def test_level_file_round_trip_preserves_every_field(tmp_path, suffix):
    levels = toy_levels()
    path = tmp_path / f"lv{suffix}"
    SCHEMA.save(levels, path, names=["a", "b", "c"])
    loaded, names = SCHEMA.load_with_names(path)
    assert names == ["a", "b", "c"]
    assert torch.equal(loaded["grid"], levels["grid"])
    assert torch.equal(loaded["count"], levels["count"])
    assert torch.allclose(loaded["pos"], levels["pos"], atol=1e-6)


def test_json_grid_is_written_top_row_first(tmp_path):
    levels = toy_levels(1)
    levels["grid"][0] = torch.tensor([[1, 0, 0], [0, 0, 1]], dtype=torch.uint8)  # row y=0 then y=1
    SCHEMA.save(levels, tmp_path / "g.json")
    rows = json.loads((tmp_path / "g.json").read_text())["levels"][0]["grid"]
    assert rows == ["..#", "#.."]


def write_json(tmp_path, levels_payload, fmt="ada.toy.levels", version=1):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": fmt, "version": version, "levels": levels_payload}))
    return path


GOOD = {"grid": ["#..", "..#"], "pos": [1.0, 2.0], "count": 3}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"pos": [1.0, 9.0]}, "pos"),  # out of range
        ({"pos": [1.0]}, "pos"),  # wrong shape
        ({"count": 2.5}, "count"),  # not an integer
        ({"grid": ["#x.", "..#"]}, "grid"),  # bad character
        ({"grid": ["#..", "..#", "..."]}, "grid"),  # wrong shape
        ({"pos": "near"}, "pos"),  # not numeric
    ],
)
def test_malformed_level_is_refused_naming_the_field(tmp_path, change, field):
    path = write_json(tmp_path, [GOOD, {**GOOD, **change}])
    with pytest.raises(LevelFileError, match=f"'{field}'"):
        SCHEMA.load(path)


def test_missing_and_unknown_fields_and_headers_are_refused(tmp_path):
    missing = {k: v for k, v in GOOD.items() if k != "count"}
    with pytest.raises(LevelFileError, match="missing level field 'count'"):
        SCHEMA.load(write_json(tmp_path, [missing]))
    with pytest.raises(LevelFileError, match="unknown level field"):
        SCHEMA.load(write_json(tmp_path, [{**GOOD, "colour": 1}]))
    with pytest.raises(LevelFileError, match="'format'"):
        SCHEMA.load(write_json(tmp_path, [GOOD], fmt="ada.other.levels"))
    with pytest.raises(LevelFileError, match="'version'"):
        SCHEMA.load(write_json(tmp_path, [GOOD], version=7))
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(LevelFileError, match="not valid JSON"):
        SCHEMA.load(bad)


def test_nan_in_safetensors_level_is_refused(tmp_path):
    levels = toy_levels()
    path = tmp_path / "lv.safetensors"
    SCHEMA.save(levels, path)
    from safetensors.torch import load_file, save_file

    data = load_file(path)
    data["pos"][1, 0] = float("nan")
    save_file(data, path, metadata={"format": "ada.toy.levels", "version": "1"})
    with pytest.raises(LevelFileError, match="'pos' contains NaN"):
        SCHEMA.load(path)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "lv.json"
    SCHEMA.save(toy_levels(), path)
    first = path.read_bytes()
    with pytest.raises(LevelFileError):
        bad = toy_levels()
        bad["pos"][0, 0] = 99.0
        SCHEMA.save(bad, path)
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["lv.json"]
