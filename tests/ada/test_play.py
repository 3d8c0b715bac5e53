"""``ada play``: a checkpoint of any world with a renderer drives one env row, written as a GIF or shown in a window."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from PIL import Image

from ada.cli import play_main, train

ROOT = Path(__file__).resolve().parents[2]


def untrained_checkpoint(path: Path, world: str, **overrides) -> Path:
    """A checkpoint ``load_module`` accepts, written without training (weights and config only)."""
    from ada import EnvConfig, PolicyConfig, PPOModule

    module = PPOModule(env=EnvConfig(world=world, num_envs=2, overrides=overrides), policy=PolicyConfig(hidden=16))
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), "epoch": 0}, path)
    return path


def test_lidarnav_checkpoint_plays_a_held_out_map_into_a_gif(tmp_path):
    ckpt = untrained_checkpoint(tmp_path / "nav.ckpt", "lidarnav", num_agents=1, max_steps=30)
    level = ROOT / "envs_warp" / "lidarnav" / "maps" / "open_field.json"
    gif = tmp_path / "nav.gif"
    stats = play_main(["--ckpt", str(ckpt), "--level", str(level), "--gif", str(gif)])
    assert stats["episodes"] == 1 and 1 <= stats["frames"] <= 30 and len(stats["returns"]) == 1
    with Image.open(gif) as image:
        assert image.n_frames == stats["frames"] + 1  # the start, then one picture per step
        assert image.size == (440, 440)  # 11 m x 40 px/m: the map was drawn, not a blank frame
        first = image.convert("RGB")
        assert len(set(first.getdata())) > 3
    random_run = play_main(["--ckpt", str(ckpt), "--gif", str(tmp_path / "random.gif"), "--frames", "12"])
    assert random_run["frames"] == 12  # without --level: the world's own random levels, any number of episodes


def test_a_level_index_outside_the_file_is_refused(tmp_path):
    from envs_warp.core.levels import LevelFileError

    ckpt = untrained_checkpoint(tmp_path / "nav.ckpt", "lidarnav", num_agents=1, max_steps=30)
    level = ROOT / "envs_warp" / "lidarnav" / "maps" / "open_field.json"
    with pytest.raises(LevelFileError, match=r"open_field.json: holds 1 level\(s\); --index 3 is out of range"):
        play_main(["--ckpt", str(ckpt), "--level", str(level), "--index", "3", "--gif", str(tmp_path / "x.gif")])


@pytest.fixture(scope="module")
def physics2d_run(tmp_path_factory) -> tuple[Path, Path, object]:
    """A one-iteration physics2d_tiny run and a level file of its size."""
    from envs_warp.physics2d.generator import generate_levels
    from envs_warp.physics2d.levels import level_schema

    root = tmp_path_factory.mktemp("play")
    config = str(ROOT / "experiments" / "configs" / "physics2d_tiny.yaml")
    module = train(["--config", config, "--trainer.default_root_dir", str(root / "p2"), "--trainer.max_epochs", "1",
                    "--trainer.enable_progress_bar", "false", "--artifacts", "false"])
    level_file = root / "level.json"
    level_schema("s").save(generate_levels("s", 1, seed=3), level_file)
    return root / "p2" / "checkpoints" / "last.ckpt", level_file, module


@pytest.mark.xdist_group("training")
def test_physics2d_checkpoint_plays_a_level_file_into_a_gif(physics2d_run, tmp_path):
    ckpt, level_file, module = physics2d_run
    stats = play_main(["--ckpt", str(ckpt), "--level", str(level_file), "--frames", "40", "--gif", str(tmp_path / "p.gif")])
    assert stats["frames"] == 40
    assert module.env_cfg.world == "physics2d"
    with Image.open(tmp_path / "p.gif") as image:
        assert image.n_frames >= 41  # a finished episode restarts the level: one more start picture


@pytest.mark.xdist_group("training")
@pytest.mark.skipif(importlib.util.find_spec("pygame") is None, reason="pygame is optional (the window's only need)")
def test_checkpoint_plays_a_level_in_the_headless_window(physics2d_run, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    ckpt, level_file, module = physics2d_run
    stats = play_main(["--ckpt", str(ckpt), "--level", str(level_file), "--frames", "40"])
    assert stats["frames"] == 40
    assert module.env_cfg.world == "physics2d"
