"""Kickstarted training end to end: frozen teachers, plain student checkpoints, distillation alone, exact resume."""
from __future__ import annotations

import pytest
import torch
from torch.distributions import kl_divergence

from ada.cli import evaluate_main
from ada.cli import train as train_cli
from ada.config import EnvConfig, PPOConfig
from ada.kickstart import KickstartConfig
from ada.module import PPOModule
from ada.runtime import RunState
from ada.train_args import ConfigError
from ada.trainer import train
from models.actor_critic import PolicyConfig

from .helpers import make_teacher, tiny, tiny_env


def quiet(module: PPOModule, run_dir, iterations: int) -> PPOModule:
    return train(module, run_dir, max_iterations=iterations, progress=False, artifacts=False)


@pytest.mark.xdist_group("training")
def test_teacher_is_frozen_and_the_student_checkpoint_loads_in_plain_ada_eval(tmp_path):
    path = make_teacher(tmp_path / "teacher.ckpt", "gru")
    module = PPOModule(env=tiny_env(), ppo=PPOConfig(rollout_len=16, total_env_steps=512, epochs=2, minibatches=2),
                       policy=PolicyConfig(hidden=32), kickstart=KickstartConfig(teacher=str(path)))
    teacher = module.losses[-1].teachers[0]
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    quiet(module, tmp_path / "run", 2)
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items()), "the teacher's weights moved"
    opt = module.trainer.optimizers[0]
    in_opt = {id(p) for group in opt.param_groups for p in group["params"]}
    assert not in_opt & {id(p) for p in teacher.parameters()}, "teacher parameters are in the optimiser"
    assert {id(p) for p in opt.state} <= {id(p) for p in module.model.parameters()}
    plain = PPOModule(env=tiny_env(), policy=PolicyConfig(hidden=32))
    assert set(module.state_dict()) == set(plain.state_dict()), "teacher weights leaked into the student's state"
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert set(saved["state_dict"]) == set(plain.state_dict())
    memory = saved["ada_runtime"][0]["parts"]["losses.1"]["memory"]
    assert len(memory) == 1 and memory[0].shape == (16, 32) and memory[0].abs().sum() > 0  # the GRU teacher's state
    rows = evaluate_main(["--ckpt", str(ckpt), "--attempts", "1", "--gifs", "0", "--device", "cpu",
                          "--out", str(tmp_path / "eval")])
    assert rows and (tmp_path / "eval" / "results.json").is_file()


def held_out_kl(teacher, student, seed: int = 99) -> float:
    """Mean per-step KL(teacher ‖ student) along held-out trajectories (the teacher acting, another env seed)."""
    with torch.random.fork_rng(devices=[]):
        run = RunState(tiny_env(), teacher, frames_per_batch=16 * 48, device="cpu", seed=seed)
        data = run.collect()  # [16, 48]
        run.close()
    obs = data.get(("agents", "observation"))[:, :, 0]  # [N, T, D]
    is_init = data.get("is_init")[..., 0]  # [N, T]
    with torch.no_grad():
        p, _ = teacher.sequence(obs, teacher.initial_memory(16), is_init)
        q, _ = student.sequence(obs, student.initial_memory(16), is_init)
        return float(kl_divergence(p, q).mean())


@pytest.mark.xdist_group("training")
def test_distillation_alone_brings_a_gru_student_to_an_mlp_teachers_actions(tmp_path):
    path = make_teacher(tmp_path / "teacher.ckpt", "mlp")
    ppo = PPOConfig(rollout_len=16, total_env_steps=10 ** 6, epochs=4, minibatches=4, lr=3e-3, lr_schedule="constant",
                    pg_coef=0.0, vf_coef=0.0, ent_coef=0.0)  # no RL loss at all
    env = EnvConfig(world="lidarnav", num_envs=64, overrides={"max_steps": 50})  # many rooms: it generalises
    module = PPOModule(env=env, ppo=ppo, policy=PolicyConfig(core="gru", hidden=32),
                       kickstart=KickstartConfig(teacher=str(path)))
    teacher = module.losses[-1].teachers[0]
    start = held_out_kl(teacher, module.model)
    quiet(module, tmp_path / "run", 8)
    end = held_out_kl(teacher, module.model)
    assert start > 0.1, f"the untrained student is already close to the teacher (KL {start:.3f}): a weak test"
    assert end < 0.03 and end < start / 4, f"held-out KL {start:.3f} -> {end:.3f}"


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("core", ["gru", "trxl"])
def test_stopped_and_resumed_kickstarted_run_matches_an_uninterrupted_one_exactly(tmp_path, core):
    path = make_teacher(tmp_path / "teacher.ckpt", core)
    kick = ("--model.kickstart.teacher", str(path), "--model.kickstart.hold_steps", "512",
            "--model.kickstart.decay_steps", "1024", "--model.kickstart.value_coef", "0.5")
    full = train_cli(tiny(tmp_path / "full", "--trainer.max_epochs", "4", *kick))
    train_cli(tiny(tmp_path / "split", "--trainer.max_epochs", "2", *kick))
    resumed = train_cli(tiny(tmp_path / "split", "--trainer.max_epochs", "4", *kick))
    a, b = full.losses[-1].memory[0], resumed.losses[-1].memory[0]
    assert a.abs().sum() > 0 and torch.equal(a, b), "the teacher's carried memory differs after resume"
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, full.model.state_dict()[key]), f"{key} differs after resume"
    assert resumed.losses[-1].weight == full.losses[-1].weight == 0.75  # 768 env steps: a quarter into the decay


def test_a_teacher_of_other_spaces_is_refused_naming_the_fields(tmp_path):
    path = make_teacher(tmp_path / "cue.ckpt", "gru", env=EnvConfig(world="memory_cue", num_envs=4))
    with pytest.raises(ConfigError, match=r"observation size 4 vs 205.*action\.kind discrete vs continuous") as err:
        PPOModule(env=tiny_env(), kickstart=KickstartConfig(teacher=str(path)))
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    with pytest.raises(ConfigError, match="do not match"):
        train_cli(tiny(tmp_path / "run", "--model.kickstart.teacher", str(path)))


@pytest.mark.xdist_group("training")
def test_layer_resets_in_training_reinitialise_the_heads_at_their_marks(tmp_path):
    cfg = KickstartConfig(reset_layers=1, reset_every=512)  # 256 env steps per iteration: after iterations 2 and 4
    module = PPOModule(env=tiny_env(), ppo=PPOConfig(rollout_len=16, total_env_steps=10 ** 6),
                       policy=PolicyConfig(hidden=32), kickstart=cfg, seed=3)
    assert not module.losses[1:], "resets alone add no loss"
    initial = {k: v.clone() for k, v in module.model.state_dict().items()}
    quiet(module, tmp_path / "run", 4)
    reference = PPOModule(env=tiny_env(), policy=PolicyConfig(hidden=32), seed=3).model
    module.layer_reset.reset(reference, None, number=2)  # what reset number 2 (at 1024 env steps) writes
    for key, value in module.model.state_dict().items():
        if key.startswith(("actor.", "critic.")):
            assert torch.equal(value, reference.state_dict()[key]), f"{key} is not freshly initialised"
        elif key.startswith("encoder.net.0."):
            assert not torch.equal(value, initial[key]), f"{key} did not train"
