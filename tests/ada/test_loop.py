"""The training loop run from Python: the env-step budget, checkpoints after fit, extra loss modules."""
from __future__ import annotations

from typing import Any

import pytest
import torch
from lightning import Callback, Trainer
from tensordict import TensorDictBase

from ada.config import EnvConfig, PPOConfig
from ada.losses import LossModule, LossOutput, PolicyOutput, masked_mean
from ada.module import PPOModule
from models.actor_critic import PolicyConfig

ENV = EnvConfig(world="lidarnav", num_envs=16, overrides={"max_steps": 50})
PPO = PPOConfig(rollout_len=16, total_env_steps=1024, epochs=2, minibatches=2)  # 4 iterations of 256 steps


def tiny_module(**kwargs: Any) -> PPOModule:
    return PPOModule(env=ENV, ppo=PPO, policy=PolicyConfig(core="gru", hidden=32), seed=0, **kwargs)


def trainer(**kwargs: Any) -> Trainer:
    return Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                   enable_model_summary=False, **kwargs)


def params(module: PPOModule) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.model.state_dict().items()}


class LearningRates(Callback):
    """The learning rate each iteration's updates used."""

    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.lrs.append(pl_module.optimizers().param_groups[0]["lr"])


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("limit", [{}, {"max_epochs": -1}])
def test_plain_trainer_without_an_epoch_limit_stops_at_total_env_steps_with_the_lr_schedule_ending_there(limit):
    module = tiny_module()
    lrs = LearningRates()
    fit = trainer(callbacks=[lrs], **limit)
    fit.fit(module)
    assert int(module.env_steps) == PPO.total_env_steps
    assert fit.current_epoch == module.num_iterations() == 4
    assert lrs.lrs == pytest.approx([PPO.lr * (1 - i / 4) for i in range(4)], rel=1e-6)
    assert module.optimizers().param_groups[0]["lr"] == 0.0  # the linear schedule ends with the budget


@pytest.mark.xdist_group("training")
def test_save_checkpoint_after_fit_works_and_the_file_resumes_exactly(tmp_path):
    straight = tiny_module()
    trainer(max_epochs=4).fit(straight)
    first = tiny_module()
    stopped = trainer(max_epochs=2)
    stopped.fit(first)
    stopped.save_checkpoint(tmp_path / "after_fit.ckpt")
    resumed = tiny_module()
    trainer(max_epochs=4).fit(resumed, ckpt_path=str(tmp_path / "after_fit.ckpt"), weights_only=True)
    assert int(resumed.env_steps) == int(straight.env_steps) == 1024
    expected = params(straight)
    for key, value in params(resumed).items():
        assert torch.equal(value, expected[key]), f"{key} differs after resuming from a checkpoint saved after fit"


class ObservationMemory(LossModule):
    """A toy teacher with memory: per sequence, a running mean of observation sums carried across iterations
    (runtime state); its term pulls the critic towards that memory."""

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.coefficients = {"obs_memory": weight}
        self.memory: torch.Tensor | None = None  # [N·A] per-sequence state

    def start(self, rows: int, device: torch.device) -> None:
        self.memory = torch.zeros(rows, device=device)

    def prepare(self, seq: TensorDictBase) -> None:
        self.memory = 0.5 * self.memory + 0.5 * seq["obs"].sum(-1).mean(-1)  # [N·A]
        seq["obs_memory_target"] = self.memory.unsqueeze(-1).expand(-1, seq["obs"].shape[1])  # [N·A, T]

    def forward(self, batch: TensorDictBase, out: PolicyOutput) -> LossOutput:
        error = (out.value - batch["obs_memory_target"]) ** 2  # [B, T]
        return LossOutput({"obs_memory": masked_mean(error, batch.get("train_mask", None))},
                          {"obs_memory_mean": batch["obs_memory_target"].mean()})

    def runtime_state(self) -> dict[str, Any]:
        return {"memory": self.memory.cpu().clone()}

    def load_runtime_state(self, state: dict[str, Any] | None) -> None:
        self.memory = state["memory"].to(self.memory.device)


@pytest.mark.xdist_group("training")
def test_an_extra_loss_module_changes_training_logs_its_metrics_and_its_state_resumes(tmp_path):
    plain = tiny_module()
    trainer(max_epochs=4).fit(plain)
    full = tiny_module(extra_losses=[ObservationMemory(0.1)])
    fit = trainer(max_epochs=4)
    fit.fit(full)
    assert "loss/obs_memory" in fit.callback_metrics and "loss/obs_memory_mean" in fit.callback_metrics
    assert any(not torch.equal(v, params(plain)[k]) for k, v in params(full).items()), "the extra term changed nothing"

    stopped = trainer(max_epochs=2)
    stopped.fit(tiny_module(extra_losses=[ObservationMemory(0.1)]))
    stopped.save_checkpoint(tmp_path / "half.ckpt")
    resumed = tiny_module(extra_losses=[ObservationMemory(0.1)])
    trainer(max_epochs=4).fit(resumed, ckpt_path=str(tmp_path / "half.ckpt"), weights_only=True)
    assert torch.equal(resumed.losses[1].memory, full.losses[1].memory), "the loss module's state was not restored"
    expected = params(full)
    for key, value in params(resumed).items():
        assert torch.equal(value, expected[key]), f"{key} differs after resume"
