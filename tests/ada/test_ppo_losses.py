"""Each PPO term against a small example computed by hand."""
from __future__ import annotations

import math

import pytest
import torch

from ada.losses import LossModule, LossOutput, PolicyOutput, PPOLoss, combine
from ada.ppo import entropy_bonus, gae, normalize, policy_loss, value_loss


def test_gae_matches_hand_computation_with_termination_and_truncation():
    gamma, lam = 0.9, 0.8
    # one sequence of 4 steps: step 1 terminates (no bootstrap), step 3 is truncated (bootstraps)
    reward = torch.tensor([[1.0, 2.0, 0.5, 1.0]])
    value = torch.tensor([[0.5, 1.0, 0.2, 0.4]])
    next_value = torch.tensor([[1.0, 9.0, 0.4, 2.0]])  # next_value[1] is ignored (terminated)
    done = torch.tensor([[False, True, False, True]])
    terminated = torch.tensor([[False, True, False, False]])
    adv, target = gae(reward, value, next_value, done, terminated, gamma, lam)
    d3 = 1.0 + gamma * 2.0 - 0.4  # truncated: bootstrap from next_value, then cut
    d2 = 0.5 + gamma * 0.4 - 0.2
    a3 = d3
    a2 = d2 + gamma * lam * a3
    d1 = 2.0 - 1.0  # terminated: no bootstrap
    a1 = d1
    d0 = 1.0 + gamma * 1.0 - 0.5
    a0 = d0 + gamma * lam * a1
    expected = torch.tensor([[a0, a1, a2, a3]])
    assert torch.allclose(adv, expected, atol=1e-6)
    assert torch.allclose(target, expected + value, atol=1e-6)


def test_policy_loss_clips_the_ratio_on_the_pessimistic_side():
    old = torch.log(torch.tensor([0.5, 0.5, 0.5]))
    new = torch.log(torch.tensor([0.8, 0.2, 0.55]))  # ratios 1.6, 0.4, 1.1
    adv = torch.tensor([1.0, -2.0, 3.0])
    loss, kl, clip_frac = policy_loss(new, old, adv, clip_eps=0.2)
    # min(1.6*1, 1.2*1)=1.2 ; min(0.4*-2, 0.8*-2)=-1.6 ; min(1.1*3, 1.1*3)=3.3
    assert loss.item() == pytest.approx(-(1.2 - 1.6 + 3.3) / 3, abs=1e-6)
    assert clip_frac.item() == pytest.approx(2 / 3)
    ratios = torch.tensor([1.6, 0.4, 1.1])
    assert kl.item() == pytest.approx(((ratios - 1) - ratios.log()).mean().item(), abs=1e-6)


def test_value_loss_takes_the_larger_of_clipped_and_unclipped_errors():
    value = torch.tensor([1.0, 0.0])
    old = torch.tensor([0.5, 0.5])
    target = torch.tensor([2.0, 0.0])
    # element 0: unclipped (1-2)^2 = 1; clipped v = 0.5+0.2 = 0.7 -> (0.7-2)^2 = 1.69 -> 1.69
    # element 1: unclipped 0; clipped v = 0.5-0.2 = 0.3 -> 0.09 -> 0.09
    assert value_loss(value, old, target, clip=0.2).item() == pytest.approx(0.5 * (1.69 + 0.09) / 2, abs=1e-6)
    assert value_loss(value, old, target, clip=None).item() == pytest.approx(0.5 * (1.0 + 0.0) / 2, abs=1e-6)


def test_entropy_bonus_and_advantage_normalisation():
    probs = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    ent = torch.distributions.Categorical(probs=probs).entropy()
    expected = (math.log(2) + -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))) / 2
    assert entropy_bonus(ent).item() == pytest.approx(expected, abs=1e-6)
    x = normalize(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert x.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert x.std().item() == pytest.approx(1.0, abs=1e-4)


def _minibatch(mask: bool = False):
    from tensordict import TensorDict

    g = torch.Generator().manual_seed(0)
    b, t = 3, 4
    batch = TensorDict({"action": torch.randint(0, 3, (b, t), generator=g), "log_prob": -torch.rand(b, t, generator=g),
                        "value": torch.randn(b, t, generator=g), "target": torch.randn(b, t, generator=g),
                        "advantage": torch.randn(b, t, generator=g)}, batch_size=[b])
    if mask:
        batch["train_mask"] = torch.rand(b, t, generator=g) > 0.3
    logits = torch.randn(b, t, 3, generator=g)
    return batch, PolicyOutput(torch.distributions.Categorical(logits=logits), torch.randn(b, t, generator=g))


@pytest.mark.parametrize("mask", [False, True])
def test_ppo_loss_module_sums_its_terms_with_their_coefficients(mask):
    from ada.config import PPOConfig

    cfg = PPOConfig(vf_coef=0.5, ent_coef=0.01, clip_eps=0.2, value_clip=0.2)
    batch, out = _minibatch(mask)
    m = batch.get("train_mask", None)
    total, terms, metrics = combine([PPOLoss(cfg)], batch, out)
    adv = normalize(batch["advantage"], mask=m)
    pl, kl, clip = policy_loss(out.dist.log_prob(batch["action"]), batch["log_prob"], adv, 0.2, mask=m)
    vl = value_loss(out.value, batch["value"], batch["target"], 0.2, mask=m)
    ent = entropy_bonus(out.dist.entropy(), mask=m)
    assert torch.equal(terms["policy"], pl) and torch.equal(terms["value"], vl) and torch.equal(terms["entropy"], ent)
    assert torch.equal(metrics["approx_kl"], kl) and torch.equal(metrics["clip_frac"], clip)
    assert torch.equal(total, pl + 0.5 * vl - 0.01 * ent)  # the same float ops as the loss written out


def test_extra_loss_terms_are_added_and_repeated_names_refused():
    from ada.config import PPOConfig

    class Twice(LossModule):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.coefficients = {name: 2.0}
            self.name = name

        def forward(self, batch, out):
            return LossOutput({self.name: out.value.mean()}, {f"{self.name}_seen": torch.tensor(1.0)})

    batch, out = _minibatch()
    base, _, _ = combine([PPOLoss(PPOConfig())], batch, out)
    total, terms, metrics = combine([PPOLoss(PPOConfig()), Twice("aux")], batch, out)
    assert torch.equal(total, base + 2.0 * out.value.mean())
    assert set(terms) == {"policy", "value", "entropy", "aux"} and "aux_seen" in metrics
    with pytest.raises(ValueError, match="aux"):
        combine([Twice("aux"), Twice("aux")], batch, out)
