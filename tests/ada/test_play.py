"""``ada play``: a trained physics2d checkpoint drives the viewer (headless; needs the optional pygame)."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pygame", reason="pygame is optional (the viewer's only dependency)")

from ada.cli import play_main, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.xdist_group("training")
def test_checkpoint_plays_a_level_in_the_headless_viewer(tmp_path, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    config = str(ROOT / "experiments" / "configs" / "physics2d_tiny.yaml")
    run = tmp_path / "p2"
    module = train(["--config", config, "--trainer.default_root_dir", str(run), "--trainer.max_epochs", "1",
                    "--trainer.enable_progress_bar", "false", "--artifacts", "false"])
    from envs_warp.physics2d.levels import level_schema, random_levels

    level_file = tmp_path / "level.json"
    level_schema("s").save(random_levels("s", 1, seed=3), level_file)
    stats = play_main(["--ckpt", str(run / "checkpoints" / "last.ckpt"), "--level", str(level_file), "--frames", "40"])
    assert stats["frames"] == 40
    assert module.env_cfg.world == "physics2d"
