"""The Python API: ``from ada import ...`` names, ``ada.train`` on a module (budget, resume), the example script."""
from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ada

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves_and_import_ada_stays_light():
    for name in ada.__all__:
        assert getattr(ada, name) is not None, name
    for name in ("PPOModule", "EnvConfig", "PPOConfig", "PolicyConfig", "CurriculumConfig", "train", "load_module",
                 "run_attempts", "summarise", "level_gif", "World", "get_world", "build_env", "held_out_levels"):
        assert name in ada.__all__, name
    from ada.module import PPOModule
    from ada.trainer import train

    assert ada.PPOModule is PPOModule and ada.train is train
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ada.nope  # noqa: B018
    probe = "import sys, ada; print(sorted(m for m in ('torch', 'lightning', 'warp') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", f"import ada pulled in {out.stdout.strip()}"


@pytest.mark.xdist_group("training")
def test_train_from_python_runs_the_env_step_budget_then_resumes(tmp_path, capsys):
    from ada import EnvConfig, PolicyConfig, PPOConfig, PPOModule, train

    def module() -> PPOModule:
        return PPOModule(env=EnvConfig(world="lidarnav", num_envs=16, overrides={"max_steps": 50}),
                         ppo=PPOConfig(rollout_len=16, total_env_steps=768), policy=PolicyConfig(hidden=32))

    run = tmp_path / "run"
    first = train(module(), run, progress=False, artifacts=False, checkpoint_every=1, keep_last=1)
    assert int(first.env_steps) == 768  # 3 iterations of 16 envs x 16 steps: total_env_steps drives the count
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["iter00002.ckpt", "last.ckpt"]
    capsys.readouterr()
    resumed = train(module(), run, max_iterations=4, progress=False, artifacts=False)
    assert "resuming from" in capsys.readouterr().err
    assert int(resumed.env_steps) == 4 * 256
    with open(run / "logs" / "version_0" / "metrics.csv", newline="") as handle:
        assert [int(float(row["epoch"])) for row in csv.DictReader(handle)] == [0, 1, 2, 3]


@pytest.mark.xdist_group("training")
def test_example_script_trains_evaluates_and_plots_at_tiny_scale(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("train_from_python", ROOT / "experiments" / "train_from_python.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = script.main(["--scale", "tiny", "--out", str(tmp_path / "py"), "--no-progress"])
    run = tmp_path / "py"
    for name in ("checkpoints/last.ckpt", "plots/return.png", "eval/results.csv", "eval/results_random.csv",
                 "eval/results_turn_to_goal.csv", "eval/success_by_policy.png", "eval/agent.gif"):
        assert (run / name).is_file(), name
    assert int(out["module"].env_steps) == 1024
    rows = out["results"]["agent"]
    assert rows[-1]["level"] == "ALL" and len(rows) == 8 + 1 and all(r["attempts"] >= 2 for r in rows)
    assert out["results"]["turn_to_goal"] != out["results"]["random"]
    assert "turn_to_goal: success" in capsys.readouterr().out
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 3
