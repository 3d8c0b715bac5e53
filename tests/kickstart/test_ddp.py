"""A kickstarted run under DDP (two CPU processes): ranks stay identical, each checkpoints its own teacher memory."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from .helpers import ROOT, make_teacher, tiny


@pytest.mark.slow
def test_kickstarted_ddp_run_keeps_ranks_identical_and_saves_both_teacher_memories(tmp_path):
    path = make_teacher(tmp_path / "teacher.ckpt", "gru")
    out = tmp_path / "params"
    out.mkdir()
    cmd = [sys.executable, str(ROOT / "tests" / "ada" / "ddp_probe.py"), str(out),
           *tiny(tmp_path / "ddp", "--trainer.max_epochs", "3", "--trainer.strategy", "ddp", "--trainer.devices", "2",
                 "--trainer.accelerator", "cpu", "--model.kickstart.teacher", str(path))]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, cwd=ROOT, check=True, env=env, timeout=600, capture_output=True)
    a, b = torch.load(out / "rank0.pt"), torch.load(out / "rank1.pt")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    last = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    memories = [rank["parts"]["losses.1"]["memory"][0] for rank in last["ada_runtime"]]
    assert len(memories) == 2 and not torch.equal(memories[0], memories[1]), "ranks run different envs"
