"""End-to-end training: resume equals an uninterrupted run, refusals, the non-finite guard, learning."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensordict import TensorDict

from ada.cli import load_module, train
from ada.config import EnvConfig, PPOConfig
from ada.module import CheckpointMismatchError, NonFiniteError, PPOModule

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "experiments" / "configs" / "lidarnav_tiny.yaml")
SMOKE = str(ROOT / "experiments" / "configs" / "lidarnav_learn_smoke.yaml")


def tiny(run_dir: Path, *extra: str) -> list[str]:
    return ["--config", TINY, "--trainer.default_root_dir", str(run_dir), "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--artifacts", "false", "--checkpoint_every", "1", *extra]


def params(module: PPOModule) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.model.state_dict().items()}


@pytest.mark.xdist_group("training")
def test_stopped_and_resumed_run_matches_uninterrupted_run_exactly(tmp_path):
    full = params(train(tiny(tmp_path / "full", "--trainer.max_epochs", "6")))
    train(tiny(tmp_path / "split", "--trainer.max_epochs", "3"))
    assert (tmp_path / "split" / "checkpoints" / "last.ckpt").is_file()
    resumed = train(tiny(tmp_path / "split", "--trainer.max_epochs", "6"))
    assert int(resumed.env_steps) == 6 * 16 * 16
    with open(tmp_path / "split" / "logs" / "version_0" / "metrics.csv", newline="") as handle:
        logged = [int(float(row["epoch"])) for row in csv.DictReader(handle)]
    assert logged == list(range(6)), "the resumed run's metrics log lost or repeated iterations"
    for key, value in params(resumed).items():
        assert torch.equal(value, full[key]), f"{key} differs after resume"


@pytest.mark.xdist_group("training")
def test_transformer_xl_run_stopped_and_resumed_matches_uninterrupted_run_exactly(tmp_path):
    trxl = ("--model.policy.core", "trxl", "--model.policy.layers", "1", "--model.policy.heads", "2",
            "--model.policy.memory_len", "8")
    full = train(tiny(tmp_path / "full", "--trainer.max_epochs", "4", *trxl))
    train(tiny(tmp_path / "split", "--trainer.max_epochs", "2", *trxl))
    resumed = train(tiny(tmp_path / "split", "--trainer.max_epochs", "4", *trxl))
    assert torch.equal(resumed.rt.policy.cache, full.rt.policy.cache), "live memory cache differs after resume"
    full_params = params(full)
    for key, value in params(resumed).items():
        assert torch.equal(value, full_params[key]), f"{key} differs after resume"


@pytest.mark.xdist_group("training")
def test_killed_process_resumes_from_its_last_checkpoint_and_matches(tmp_path):
    epochs = 12
    reference = params(train(tiny(tmp_path / "ref", "--trainer.max_epochs", str(epochs))))
    keep_all = ("--keep_last", "0")  # every periodic checkpoint stays, so a redo of old iterations would show
    cmd = [sys.executable, "-m", "ada.cli", "train",
           *tiny(tmp_path / "killed", "--trainer.max_epochs", str(epochs), *keep_all)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # same float reduction order as this (one-thread) process
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "killed" / "checkpoints"
    periodic = ckpts / "iter00002.ckpt"  # the third iteration's save, ~9 iterations (~0.7 s) before the end
    deadline = time.time() + 120
    while not periodic.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # does nothing to a child that already exited
    proc.wait()
    assert periodic.exists(), "no periodic checkpoint appeared before the child stopped or the deadline passed"
    assert proc.returncode == -signal.SIGKILL, f"the child was not killed mid-run (exit status {proc.returncode})"
    assert (ckpts / "last.ckpt").is_file()
    at_kill = torch.load(ckpts / "last.ckpt", map_location="cpu", weights_only=True)["epoch"]
    assert at_kill < epochs - 1, f"last.ckpt already held the final iteration ({at_kill}) when the child was killed"
    assert not (ckpts / f"iter{epochs - 1:05d}.ckpt").exists()
    # a resume that restarts from scratch saves iterations up to the resume point again (as iterNNNNN-v1.ckpt)
    upto_kill = lambda: {p: p.stat().st_mtime_ns for p in ckpts.glob("iter*.ckpt") if int(p.stem[4:9]) <= at_kill}
    kept = upto_kill()
    assert kept, "no periodic checkpoint at or before last.ckpt's iteration"
    resumed = train(tiny(tmp_path / "killed", "--trainer.max_epochs", str(epochs), *keep_all))
    assert int(resumed.env_steps) == epochs * 16 * 16
    assert upto_kill() == kept, f"the resumed run redid iterations up to {at_kill} instead of resuming after them"
    for key, value in params(resumed).items():
        assert torch.equal(value, reference[key]), f"{key} differs after kill and resume"


@pytest.mark.xdist_group("training")
def test_last_checkpoint_holds_the_final_iteration_between_periodic_saves(tmp_path):
    module = train(tiny(tmp_path / "run", "--trainer.max_epochs", "5", "--checkpoint_every", "3"))
    saved = load_module(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert not (tmp_path / "run" / "checkpoints" / "iter00001.ckpt").exists()  # saves every 3 iterations only
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 4
    for key, value in params(module).items():
        assert torch.equal(saved.model.state_dict()[key], value), key


@pytest.mark.xdist_group("training")
def test_checkpoint_from_incompatible_config_is_refused(tmp_path):
    train(tiny(tmp_path / "run", "--trainer.max_epochs", "1"))
    with pytest.raises(CheckpointMismatchError, match="policy.hidden"):
        train(tiny(tmp_path / "run", "--trainer.max_epochs", "2", "--model.policy.hidden", "48"))


def test_nonfinite_observation_stops_the_run_naming_quantity_and_step(tmp_path, monkeypatch):
    module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=4))
    data = TensorDict({"next": {"agents": {"observation": torch.tensor([[[[0.0, float("nan")]]]])}}}, batch_size=[1, 1])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NonFiniteError, match=r"non-finite observation at iteration 0 \(env step 0\)"):
        module.check_finite(data, ("next", "agents", "observation"), "observation")
    assert list((tmp_path / "debug").glob("nonfinite_*.pt"))


@pytest.mark.xdist_group("training")
def test_nan_weights_stop_training_with_a_named_loss(tmp_path, monkeypatch):
    original = PPOModule.on_train_start

    def poison(self):
        original(self)
        with torch.no_grad():
            self.model.critic.v.weight.fill_(float("nan"))

    monkeypatch.setattr(PPOModule, "on_train_start", poison)
    with pytest.raises(NonFiniteError, match=r"non-finite (policy|value) loss at iteration 0 \(env step 0\)"):
        train(tiny(tmp_path / "nan", "--trainer.max_epochs", "2"))
    assert list((tmp_path / "nan" / "debug").glob("nonfinite_*.pt"))


def test_ddp_with_two_cpu_processes_keeps_parameters_identical(tmp_path):
    probe = ROOT / "tests" / "ada" / "ddp_probe.py"
    out = tmp_path / "params"
    out.mkdir()
    cmd = [sys.executable, str(probe), str(out), *tiny(tmp_path / "ddp", "--trainer.max_epochs", "3",
           "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, cwd=ROOT, check=True, env=env, timeout=600, capture_output=True)
    a, b = torch.load(out / "rank0.pt"), torch.load(out / "rank1.pt")
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs between ranks"
    last = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert len(last["ada_runtime"]) == 2, "a DDP checkpoint holds both ranks' runtime state, as plain data"
    first = load_module(tmp_path / "ddp" / "checkpoints" / "iter00000.ckpt").model.state_dict()
    assert any(not torch.equal(a[k], first[k]) for k in a), "training changed nothing after the first iteration"


@pytest.mark.xdist_group("training")
def test_short_cpu_training_raises_success_on_small_rooms(tmp_path):
    from ada.evaluate import run_attempts
    from ada.worlds import build_env

    args = ["--config", SMOKE, "--trainer.default_root_dir", str(tmp_path / "smoke"), "--trainer.enable_progress_bar",
            "false", "--trainer.enable_model_summary", "false", "--artifacts", "false"]
    untrained = PPOModule(**_smoke_kwargs())
    probe = build_env(untrained.env_cfg, "cpu", seed=123, num_envs=256)
    probe.reset()
    levels = probe.levels.clone()  # 256 fixed random levels, unseen in training
    before = run_attempts(untrained, levels, attempts=1, seed=5)["success"].mean()
    trained = train(args)
    after = run_attempts(trained, levels, attempts=1, seed=5)["success"].mean()
    assert after >= before + 0.2, f"success {before:.2f} -> {after:.2f}"


def _smoke_kwargs() -> dict:
    import yaml

    from ada.config import EnvConfig, PPOConfig
    from models.actor_critic import PolicyConfig

    model = yaml.safe_load(Path(SMOKE).read_text())["model"]
    return {"env": EnvConfig(**model["env"]), "ppo": PPOConfig(**model["ppo"]),
            "policy": PolicyConfig(**model["policy"]), "seed": model["seed"]}


@pytest.mark.slow
def test_main_job_configuration_reaches_its_success_threshold(tmp_path):
    from ada.evaluate import run_attempts
    from ada.worlds import held_out_levels

    config = str(ROOT / "experiments" / "configs" / "lidarnav_gru.yaml")
    module = train(["--config", config, "--trainer.default_root_dir", str(tmp_path / "main"), "--artifacts", "false"])
    levels, names = held_out_levels(module.env_cfg)
    success = run_attempts(module, levels, attempts=20, seed=1)["success"].mean()
    assert success >= 0.25, f"held-out success {success:.2f}"


@pytest.mark.xdist_group("training")
def test_ppo_trains_on_physics2d_with_multi_discrete_actions(tmp_path):
    config = str(ROOT / "experiments" / "configs" / "physics2d_tiny.yaml")
    module = train(["--config", config, "--trainer.default_root_dir", str(tmp_path / "p2"), "--trainer.max_epochs", "2",
                    "--trainer.enable_progress_bar", "false", "--artifacts", "false"])
    assert module.model.actor.nvec == [3, 3, 3, 3, 2, 2]
    assert int(module.env_steps) == 2 * 32 * 16
    assert (tmp_path / "p2" / "checkpoints" / "last.ckpt").is_file()


def test_a_world_flagging_nonfinite_simulator_state_stops_the_run(tmp_path, monkeypatch):
    module = PPOModule(env=EnvConfig(world="physics2d", num_envs=2, overrides={"size": "s", "bank_size": 4}))
    monkeypatch.chdir(tmp_path)
    healthy = TensorDict({"next": {"sim_nonfinite": torch.zeros(2, 3, 1, dtype=torch.bool)}}, batch_size=[2, 3])
    module.check_world_health(healthy)  # nothing flagged: no error
    broken = healthy.clone()
    broken["next", "sim_nonfinite"][1, 2] = True
    with pytest.raises(NonFiniteError, match=r"non-finite simulator state \(sim_nonfinite\)"):
        module.check_world_health(broken)


def test_a_tolerated_share_of_blown_up_world_steps_is_counted_and_training_goes_on(tmp_path, monkeypatch):
    module = PPOModule(env=EnvConfig(world="physics2d", num_envs=2, overrides={"size": "s", "bank_size": 4}),
                       ppo=PPOConfig(nonfinite_world_tolerance=0.2))
    monkeypatch.chdir(tmp_path)
    data = TensorDict({"next": {"sim_nonfinite": torch.zeros(2, 3, 1, dtype=torch.bool)}}, batch_size=[2, 3])
    data["next", "sim_nonfinite"][1, 2] = True  # 1 of 6 steps: within 0.2
    module.check_world_health(data)
    assert int(module._world_nonfinite) == 1
    data["next", "sim_nonfinite"][0, 0] = True  # 2 of 6: above it
    with pytest.raises(NonFiniteError, match="simulator state"):
        module.check_world_health(data)
    with pytest.raises(ValueError, match="nonfinite_world_tolerance must be in"):
        PPOConfig(nonfinite_world_tolerance=1.5)
