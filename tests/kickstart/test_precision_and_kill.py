"""bf16 autocast of the update (CUDA only, a no-op on CPU) and SIGKILL/resume of a kickstarted run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import ada.module
from ada.cli import train as train_cli
from ada.config import PPOConfig
from ada.kickstart import KickstartConfig
from ada.module import PPOModule
from ada.trainer import train
from models.actor_critic import PolicyConfig

from .helpers import ROOT, make_teacher, tiny, tiny_env


def kickstarted(path, bf16: bool) -> PPOModule:
    ppo = PPOConfig(rollout_len=16, total_env_steps=10 ** 6, epochs=2, minibatches=2, bf16_update=bf16)
    return PPOModule(env=tiny_env(), ppo=ppo, policy=PolicyConfig(hidden=32), kickstart=KickstartConfig(teacher=str(path)))


def recording_dtypes(monkeypatch) -> list[torch.dtype]:
    """Record the dtype of the policy's values that every minibatch's loss sees."""
    seen: list[torch.dtype] = []
    combine = ada.module.combine

    def spy(losses, batch, out):
        seen.append(out.value.dtype)
        return combine(losses, batch, out)

    monkeypatch.setattr(ada.module, "combine", spy)
    return seen


@pytest.mark.xdist_group("training")
def test_bf16_update_is_a_no_op_on_cpu(tmp_path, monkeypatch):
    path = make_teacher(tmp_path / "teacher.ckpt", "gru")
    seen = recording_dtypes(monkeypatch)
    a = train(kickstarted(path, True), tmp_path / "a", max_iterations=2, progress=False, artifacts=False,
              accelerator="cpu")
    b = train(kickstarted(path, False), tmp_path / "b", max_iterations=2, progress=False, artifacts=False,
              accelerator="cpu")
    assert set(seen) == {torch.float32}
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key


@pytest.mark.gpu
def test_bf16_update_autocasts_on_cuda_and_trains(tmp_path, monkeypatch):
    path = make_teacher(tmp_path / "teacher.ckpt", "trxl")
    seen = recording_dtypes(monkeypatch)
    module = kickstarted(path, True)
    before = {k: v.clone() for k, v in module.model.state_dict().items()}
    train(module, tmp_path / "run", max_iterations=2, progress=False, artifacts=False, accelerator="gpu")
    assert seen and set(seen) == {torch.bfloat16}, seen
    assert module.losses[-1].teachers[0].encoder.net[0].weight.device.type == "cuda"
    after = module.model.state_dict()
    assert all(torch.isfinite(v.float()).all() for v in after.values())
    assert any(not torch.equal(v.cpu(), before[k]) for k, v in after.items())
    assert all(v.dtype == before[k].dtype for k, v in after.items()), "autocast changed the stored weights' dtype"


@pytest.mark.slow
def test_killed_kickstarted_process_resumes_and_matches(tmp_path):
    """SIGKILL mid-run with a Transformer-XL teacher, resume: the same weights and teacher cache as a run left alone."""
    epochs = 10
    path = make_teacher(tmp_path / "teacher.ckpt", "trxl")
    kick = ("--model.kickstart.teacher", str(path), "--model.kickstart.hold_steps", "1024",
            "--model.kickstart.decay_steps", "2048")
    reference = train_cli(tiny(tmp_path / "ref", "--trainer.max_epochs", str(epochs), *kick))
    cmd = [sys.executable, "-m", "ada.cli", "train", *tiny(tmp_path / "killed", "--trainer.max_epochs", str(epochs),
                                                          "--keep_last", "0", *kick)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 300
    while not (ckpts / "iter00002.ckpt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the child was not killed mid-run (exit status {proc.returncode})"
    at_kill = torch.load(ckpts / "last.ckpt", map_location="cpu", weights_only=True)["epoch"]
    assert at_kill < epochs - 1
    resumed = train_cli(tiny(tmp_path / "killed", "--trainer.max_epochs", str(epochs), "--keep_last", "0", *kick))
    assert torch.equal(resumed.losses[-1].memory[0], reference.losses[-1].memory[0])
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, reference.model.state_dict()[key]), f"{key} differs after kill and resume"
