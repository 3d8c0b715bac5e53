"""Checkpoints are data, never code: every load path refuses a pickle that would run code, every checkpoint ada
writes loads with ``weights_only=True``, old checkpoints convert only on request, agents export as safetensors."""
from __future__ import annotations

import pathlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from ada.checkpoint import (CheckpointError, UnsafeCheckpointError, load_module,
                            read_checkpoint, safe_load)
from ada.cli import main, train
from ada.runtime import rng_state, set_rng_state

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "experiments" / "configs" / "lidarnav_tiny.yaml")
PLAIN = (torch.Tensor, int, float, str, bool, type(None))


def tiny(run_dir: Path, *extra: str) -> list[str]:
    return ["--config", TINY, "--trainer.default_root_dir", str(run_dir), "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--artifacts", "false", "--checkpoint_every", "1", *extra]


class TouchOnLoad:
    """Unpickling this calls ``pathlib.Path.touch(target)``: a checkpoint that runs code."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.target),)


def crafted_checkpoint(path: Path, target: Path) -> Path:
    """A checkpoint that looks like ada's (weights, config) but creates ``target`` when unpickled."""
    from ada import EnvConfig, PolicyConfig, PPOModule

    module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=2), policy=PolicyConfig(hidden=16))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), "epoch": 0,
                "payload": TouchOnLoad(target)}, path)
    return path


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    err = "\n".join(line for line in capsys.readouterr().err.splitlines() if not line.startswith("Warp CUDA"))
    return code, err


def assert_plain(obj, where: str = "") -> None:
    """Only tensors, numbers, strings, None, and dicts/lists/tuples of them."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            assert isinstance(key, (str, int, tuple)), f"{where}: key {key!r}"
            assert_plain(value, f"{where}/{key}")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            assert_plain(value, f"{where}[{i}]")
    else:
        assert isinstance(obj, PLAIN), f"{where}: {type(obj).__name__} is not plain data"


def test_the_crafted_checkpoint_really_runs_code_when_unpickled(tmp_path):
    witness = tmp_path / "witness"
    path = crafted_checkpoint(tmp_path / "evil.ckpt", witness)
    torch.load(path, weights_only=False)  # what the old loader did
    assert witness.exists(), "the crafted payload does not work, so the refusal tests below prove nothing"


def test_crafted_checkpoint_is_refused_by_load_module_eval_play_export_and_resume(tmp_path, capsys):
    target = tmp_path / "pwned"
    evil = crafted_checkpoint(tmp_path / "evil.ckpt", target)

    with pytest.raises(UnsafeCheckpointError, match=re.escape(str(evil)) + r": refused, loading it would need \S+"):
        load_module(evil)
    with pytest.raises(UnsafeCheckpointError, match=re.escape(str(evil))):
        read_checkpoint(evil)

    for argv in (["eval", "--ckpt", str(evil), "--attempts", "1", "--gifs", "0", "--out", str(tmp_path / "eval")],
                 ["play", "--ckpt", str(evil), "--gif", str(tmp_path / "x.gif"), "--frames", "2"],
                 ["export", "--ckpt", str(evil), "--out", str(tmp_path / "agent.safetensors")]):
        code, err = run_cli(argv, capsys)
        assert code == 2, (argv[0], err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"ada {argv[0]}: error: {evil}: refused"), (argv[0], err)
        assert "ada convert --trust" in lines[0]

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(evil.read_bytes())
    code, err = run_cli(["train", *tiny(run, "--trainer.max_epochs", "2")], capsys)
    assert code == 2, err
    assert f"{run / 'checkpoints' / 'last.ckpt'}: refused" in err
    assert not (run / "checkpoints" / "iter00000.ckpt").exists(), "the run trained instead of refusing"
    assert not target.exists(), "a refused checkpoint ran its code"
    assert not (tmp_path / "agent.safetensors").exists()


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("extra", [(), ("--model.policy.core", "trxl", "--model.policy.memory_len", "8"),
                                   ("--model.curriculum.method", "sfl"), ("--model.curriculum.method", "plr"),
                                   ("--model.curriculum.method", "accel")],
                         ids=["gru", "trxl", "sfl", "plr", "accel"])
def test_every_checkpoint_ada_writes_is_plain_data_that_loads_weights_only(tmp_path, extra):
    run = tmp_path / "run"
    train(tiny(run, "--trainer.max_epochs", "2", *extra))
    files = sorted((run / "checkpoints").glob("*.ckpt"))
    assert [p.name for p in files] == ["iter00000.ckpt", "iter00001.ckpt", "last.ckpt"]
    for path in files:
        state = torch.load(path, map_location="cpu", weights_only=True)  # no allowlist
        (runtime,) = state["ada_runtime"]
        assert_plain(runtime, f"{path.name}:ada_runtime")
        assert set(runtime["rng"]) >= {"python", "numpy", "torch"}
        if "--model.curriculum.method" in extra:
            assert runtime["curriculum"] is not None
        if "trxl" in extra:
            assert runtime["cache"] is not None
    assert read_checkpoint(run / "checkpoints" / "last.ckpt")["epoch"] == 1


def test_rng_state_is_plain_and_restores_every_generator_exactly():
    import random

    random.seed(3)
    np.random.seed(4)
    torch.manual_seed(5)
    random.gauss(0, 1)  # a cached Gaussian in Python's state
    np.random.standard_normal()  # and in NumPy's
    state = rng_state()
    assert_plain(state, "rng")
    expected = (random.random(), random.gauss(0, 1), np.random.random(3), np.random.standard_normal(), torch.rand(3))
    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    set_rng_state(state)
    again = (random.random(), random.gauss(0, 1), np.random.random(3), np.random.standard_normal(), torch.rand(3))
    assert expected[0] == again[0] and expected[1] == again[1] and expected[3] == again[3]
    assert np.array_equal(expected[2], again[2]) and torch.equal(expected[4], again[4])


def _old_format(state: dict) -> dict:
    """A checkpoint as the previous ada wrote it: TensorDict carrier, NumPy and tuple RNG states."""
    runtime = dict(state["ada_runtime"][0])
    carrier = TensorDict({}, batch_size=[])
    for key, value in runtime["carrier"].items():
        carrier.set(key, value)
    carrier.batch_size = next(iter(runtime["carrier"].values())).shape[:1]
    py, npy = runtime["rng"]["python"], runtime["rng"]["numpy"]
    runtime["carrier"] = carrier
    runtime["rng"] = {**runtime["rng"], "python": (py["version"], tuple(py["state"].tolist()), py["gauss_next"]),
                      "numpy": (npy["bit_generator"], npy["key"].numpy().astype(np.uint32), npy["pos"],
                                npy["has_gauss"], npy["cached_gaussian"])}
    return {**state, "ada_runtime": [runtime]}


@pytest.mark.xdist_group("training")
def test_old_checkpoint_is_refused_with_how_to_convert_and_converts_only_with_trust(tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny(run, "--trainer.max_epochs", "1"))
    new = read_checkpoint(run / "checkpoints" / "last.ckpt")
    old = tmp_path / "old.ckpt"
    torch.save(_old_format(new), old)

    with pytest.raises(UnsafeCheckpointError, match=re.escape(f"{old}: refused, loading it would need tensordict")) as err:
        load_module(old)
    assert f"ada convert --trust --ckpt {old}" in str(err.value)
    code, out = run_cli(["convert", "--ckpt", str(old), "--out", str(tmp_path / "new.ckpt")], capsys)
    assert code == 2 and "pass --trust" in out and not (tmp_path / "new.ckpt").exists()

    code, _ = run_cli(["convert", "--trust", "--ckpt", str(old), "--out", str(tmp_path / "new.ckpt")], capsys)
    assert code == 0
    converted = safe_load(tmp_path / "new.ckpt")
    (a,), (b,) = converted["ada_runtime"], new["ada_runtime"]
    assert set(a["carrier"]) == set(b["carrier"])
    for key in b["carrier"]:
        assert torch.equal(a["carrier"][key], b["carrier"][key]), key
    for gen in ("python", "numpy"):
        for key, value in b["rng"][gen].items():
            same = torch.equal(a["rng"][gen][key], value) if isinstance(value, torch.Tensor) else a["rng"][gen][key] == value
            assert same, (gen, key)
    # the converted file resumes: one more iteration in a run folder holding it
    resumed_run = tmp_path / "resumed"
    (resumed_run / "checkpoints").mkdir(parents=True)
    (resumed_run / "checkpoints" / "last.ckpt").write_bytes((tmp_path / "new.ckpt").read_bytes())
    assert int(train(tiny(resumed_run, "--trainer.max_epochs", "2")).env_steps) == 2 * 16 * 16


def test_damaged_files_are_still_reported_as_unreadable_not_unsafe(tmp_path):
    bad = tmp_path / "garbage.ckpt"
    bad.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a readable checkpoint") as err:
        read_checkpoint(bad)
    assert not isinstance(err.value, UnsafeCheckpointError)


def test_exported_safetensors_agent_gives_identical_actions_and_evaluates(tmp_path, capsys):
    from ada import EnvConfig, PolicyConfig, PPOModule

    module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=2, overrides={"max_steps": 20}),
                       policy=PolicyConfig(hidden=16), seed=3)
    with torch.no_grad():  # weights no fresh module of this seed has
        for p in module.model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), "epoch": 0}, ckpt)

    code, _ = run_cli(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "agent.safetensors")], capsys)
    assert code == 0
    from safetensors import safe_open

    with safe_open(str(tmp_path / "agent.safetensors"), framework="pt") as handle:
        assert handle.metadata()["format"] == "ada.agent/1"
    agent = load_module(tmp_path / "agent.safetensors")
    assert agent.hparams == module.hparams

    rows = 12
    gen = torch.Generator().manual_seed(0)
    obs = torch.randn(rows, _obs_dim(module), generator=gen)  # [B, O]
    memory = torch.randn(rows, *module.model.carried_memory_shape(), generator=gen)  # [B, ...]
    is_init = torch.zeros(rows, dtype=torch.bool)  # [B]
    with torch.no_grad():
        outs = []
        for m in (module, agent):
            m.eval()
            dist, value, new_memory = m.model.step(obs, memory, is_init)
            torch.manual_seed(7)
            outs.append((dist.sample(), dist.mode if hasattr(dist, "mode") else dist.mean, value, new_memory))
    for a, b in zip(*outs):
        assert torch.equal(a, b)

    code, err = run_cli(["eval", "--ckpt", str(tmp_path / "agent.safetensors"), "--attempts", "1", "--gifs", "0",
                         "--device", "cpu"], capsys)
    assert code == 0, err
    assert (tmp_path / "eval" / "results.json").is_file()


def _obs_dim(module) -> int:
    from ada.worlds import describe

    return describe(module.env_cfg)[0]


def test_a_safetensors_file_that_is_not_an_agent_is_refused_naming_it(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "levels.safetensors"
    save_file({"x": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: not an agent written by ada export")):
        load_module(path)


def test_nonfinite_debug_dump_loads_weights_only(tmp_path, monkeypatch):
    from ada import EnvConfig, PPOModule
    from ada.module import NonFiniteError

    module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=4))
    data = TensorDict({"next": {"agents": {"observation": torch.tensor([[[[0.0, float("nan")]]]])}}}, batch_size=[1, 1])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NonFiniteError):
        module.check_finite(data, ("next", "agents", "observation"), "observation")
    (dump,) = (tmp_path / "debug").glob("nonfinite_*.pt")
    state = torch.load(dump, weights_only=True)
    assert_plain(state)
    assert torch.isnan(state["data"]["rollout"][("next", "agents", "observation")]).any()


def test_no_loader_in_the_packages_evaluates_code():
    """No eval/exec, no unsafe YAML, no raw pickle; ``weights_only=False`` only in ``ada convert --trust``."""
    pattern = re.compile(r"(?<![\w.])(eval|exec)\(|yaml\.(load|unsafe_load|full_load)\(|pickle\.loads?\(|"
                         r"weights_only=False|allow_pickle=True")
    found = []
    for package in ("ada", "envs_warp", "curricula", "models", "experiments", "benchmarks"):
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#")[0]
                if pattern.search(code) and not code.strip().startswith(('"', "'", "``")):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert len(found) == 1 and found[0].startswith("ada/checkpoint.py:") and "torch.load(src" in found[0], found
