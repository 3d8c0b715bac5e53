"""The distillation loss against hand computations, its schedule, the teachers' memory, and layer resets."""
from __future__ import annotations

import math

import pytest
import torch
from tensordict import TensorDict
from torch.distributions import Categorical, Independent, Normal

from ada.kickstart import DistillationLoss, KickstartConfig, LayerReset
from ada.losses import PolicyOutput
from models.actor_critic import ActionSpace, ActorCritic, PolicyConfig
from models.heads import _MultiCategorical

OBS = 6
SPACES = {
    "discrete": ActionSpace(kind="discrete", n=4),
    "multi_discrete": ActionSpace(kind="multi_discrete", nvec=[3, 2, 4]),
    "continuous": ActionSpace(kind="continuous", low=[0.0, -1.0], high=[1.0, 2.0]),
}


def sharpened(model: ActorCritic, scale: float = 30.0) -> ActorCritic:
    """The model with its action head scaled up (a freshly initialised head is almost uniform)."""
    with torch.no_grad():
        for name, p in model.actor.named_parameters():
            if name != "log_std":
                p.mul_(scale)
    return model


def rollout(rows: int = 5, steps: int = 7, seed: int = 0) -> TensorDict:
    """A fake rollout ``[R, T]``: observations and episode starts (some rows restart mid-window)."""
    g = torch.Generator().manual_seed(seed)
    is_init = torch.rand(rows, steps, generator=g) < 0.2
    is_init[:, 0] = True
    return TensorDict({"obs": torch.randn(rows, steps, OBS, generator=g), "is_init": is_init}, batch_size=[rows])


def window(seq: TensorDict, a: int, b: int) -> TensorDict:
    """Steps ``a..b-1`` of a rollout's observations and episode starts."""
    return TensorDict({k: seq[k][:, a:b].clone() for k in ("obs", "is_init")}, batch_size=seq.batch_size)


def teacher_of(kind: str, core: str = "mlp", seed: int = 1) -> ActorCritic:
    torch.manual_seed(seed)
    return sharpened(ActorCritic(OBS, SPACES[kind], PolicyConfig(core=core, hidden=16, layers=1, heads=2,
                                                                   memory_len=4)))


def hand_kl(kind: str, teacher: ActorCritic, obs: torch.Tensor, student) -> torch.Tensor:
    """Per-step KL(teacher ‖ student) ``[R, T]`` written out from the distributions' parameters (MLP teacher)."""
    z = teacher.encoder(obs)
    if kind == "discrete":
        p = torch.softmax(teacher.actor.logits(z), -1)
        q = torch.softmax(student, -1)
        return (p * (p.log() - q.log())).sum(-1)
    if kind == "multi_discrete":
        out = 0
        for tl, sl in zip(torch.split(teacher.actor.logits(z), [3, 2, 4], -1), torch.split(student, [3, 2, 4], -1)):
            p, q = torch.softmax(tl, -1), torch.softmax(sl, -1)
            out = out + (p * (p.log() - q.log())).sum(-1)
        return out
    head = teacher.actor
    mu_t = head.centre + head.scale * head.mean(z)
    sd_t = head.scale * head.log_std.exp()
    mu_s, sd_s = student
    return (torch.log(sd_s / sd_t) + (sd_t ** 2 + (mu_t - mu_s) ** 2) / (2 * sd_s ** 2) - 0.5).sum(-1)


@pytest.mark.parametrize("kind", list(SPACES))
def test_loss_equals_a_hand_computation(kind):
    teacher = teacher_of(kind)
    seq = rollout()
    g = torch.Generator().manual_seed(3)
    if kind == "discrete":
        student = torch.randn(5, 7, 4, generator=g)
        dist = Categorical(logits=student)
    elif kind == "multi_discrete":
        student = torch.randn(5, 7, 9, generator=g)
        dist = _MultiCategorical(torch.split(student, [3, 2, 4], dim=-1))
    else:
        student = (torch.randn(5, 7, 2, generator=g), torch.rand(5, 7, 2, generator=g) + 0.2)
        dist = Independent(Normal(*student), 1)
    mask = torch.rand(5, 7, generator=g) < 0.7
    loss = DistillationLoss(KickstartConfig(weight=0.3), OBS, SPACES[kind], teachers=[teacher])
    loss.prepare(seq)
    got = loss(seq.set("train_mask", mask), PolicyOutput(dist, torch.zeros(5, 7)))
    with torch.no_grad():
        expected = hand_kl(kind, teacher, seq["obs"], student)[mask].mean()
    assert torch.allclose(got.terms["distill"], expected, rtol=1e-5, atol=1e-6), (got.terms["distill"], expected)
    assert loss.coefficients["distill"] == 0.3
    assert expected > 1e-2  # a sharpened teacher and a random student disagree: the comparison is not 0 vs 0


@pytest.mark.parametrize("kind,core", [("discrete", "gru"), ("multi_discrete", "trxl"), ("continuous", "mlp")])
def test_loss_is_zero_when_the_student_is_the_teacher(kind, core):
    teacher = teacher_of(kind, core)
    student = teacher_of(kind, core)  # same seed: the same weights, a separate module
    seq = rollout()
    loss = DistillationLoss(KickstartConfig(value_coef=1.0), OBS, SPACES[kind], teachers=[teacher])
    loss.prepare(seq)
    memory = student.initial_memory(5)
    out = PolicyOutput(*student.sequence(seq["obs"], memory, seq["is_init"]))
    got = loss(seq, out)
    assert got.terms["distill"].abs() < 1e-5
    assert got.terms["distill_value"].abs() < 1e-8
    assert torch.allclose(got.metrics["teacher_entropy"], got.metrics["student_entropy"], atol=1e-5)
    other = teacher_of(kind, core, seed=2)  # a different student is penalised
    assert loss(seq, PolicyOutput(*other.sequence(seq["obs"], memory, seq["is_init"]))).terms["distill"] > 1e-3


@pytest.mark.parametrize("core", ["gru", "trxl"])
def test_teacher_memory_carries_across_rollouts_and_resets_at_episode_starts(core):
    """Two rollouts of T steps give the teacher exactly what one rollout of 2T steps gives."""
    teacher = teacher_of("discrete", core)
    whole = rollout(steps=12)
    one = DistillationLoss(KickstartConfig(), OBS, SPACES["discrete"], teachers=[teacher])
    one.start(5, torch.device("cpu"))
    one.prepare(whole)
    two = DistillationLoss(KickstartConfig(), OBS, SPACES["discrete"], teachers=[teacher])
    two.start(5, torch.device("cpu"))
    first, second = window(whole, 0, 6), window(whole, 6, 12)
    two.prepare(first)
    saved = two.runtime_state()
    three = DistillationLoss(KickstartConfig(), OBS, SPACES["discrete"], teachers=[teacher])
    three.start(5, torch.device("cpu"))
    three.load_runtime_state(saved)  # a resumed run continues from the saved memory
    three.prepare(second)
    joined = torch.cat([first["teacher_z0"], second["teacher_z0"]], dim=1)
    assert torch.allclose(joined, whole["teacher_z0"], atol=1e-5)
    # the memory matters: a teacher restarted empty at the second window differs where no episode began
    fresh = DistillationLoss(KickstartConfig(), OBS, SPACES["discrete"], teachers=[teacher])
    fresh.start(5, torch.device("cpu"))
    restarted = window(whole, 6, 12)
    fresh.prepare(restarted)
    carried = ~whole["is_init"][:, 6:].cumsum(1).bool()  # [R, T] steps before the row's next episode start
    if core == "trxl":  # attention reaches memory_len = 4 steps back, no further
        carried &= torch.arange(6) < 4
    assert carried.any()
    differs = (restarted["teacher_z0"] - second["teacher_z0"]).abs().amax(-1) > 1e-4
    assert torch.equal(differs, carried)


def test_schedule_gives_the_configured_weights():
    linear = KickstartConfig(weight=2.0, hold_steps=100, decay_steps=50)
    assert [linear.weight_at(s) for s in (0, 99, 100, 125, 149, 150, 10_000)] == \
        pytest.approx([2.0, 2.0, 2.0, 1.0, 0.04, 0.0, 0.0])
    expo = KickstartConfig(weight=2.0, hold_steps=100, decay_steps=50, decay="exponential", decay_rate=4.0)
    assert expo.weight_at(50) == 2.0
    assert expo.weight_at(125) == pytest.approx(2.0 * math.exp(-2.0))
    assert expo.weight_at(150) == 0.0
    assert KickstartConfig(weight=0.5).weight_at(10 ** 9) == 0.5  # no hold_steps: the whole run
    assert KickstartConfig(hold_steps=10).weight_at(10) == 0.0  # no decay: off right after the hold
    with pytest.raises(ValueError, match="decay must be linear or exponential"):
        KickstartConfig(decay="cosine")
    with pytest.raises(ValueError, match="reset_layers and reset_every"):
        KickstartConfig(reset_layers=2)


def test_teachers_are_not_run_once_the_weight_is_zero():
    teacher = teacher_of("discrete", "gru")
    loss = DistillationLoss(KickstartConfig(hold_steps=10), OBS, SPACES["discrete"], teachers=[teacher])
    loss.start(5, torch.device("cpu"))
    loss.set_progress(0)
    seq = rollout()
    loss.prepare(seq)
    assert "teacher_z0" in seq.keys()
    calls = []
    teacher.core.step = lambda *a: calls.append(1)  # would fail if called
    loss.set_progress(10)
    seq = rollout()
    loss.prepare(seq)
    assert not calls and "teacher_z0" not in seq.keys()
    got = loss(seq, PolicyOutput(Categorical(logits=torch.zeros(5, 7, 4)), torch.zeros(5, 7)))
    assert got.terms["distill"] == 0 and loss.coefficients["distill"] == 0.0
    assert got.metrics["distill_weight"] == 0


@pytest.mark.parametrize("core,k", [("gru", 1), ("gru", 2), ("trxl", 3), ("mlp", 2)])
def test_layer_reset_reinitialises_exactly_the_last_k_layers(core, k):
    space = SPACES["continuous"]
    cfg = PolicyConfig(core=core, hidden=16, layers=2, heads=2, memory_len=4)
    model = ActorCritic(OBS, space, cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # "trained": every parameter moved away from any initial value
    opt = torch.optim.Adam(model.parameters())
    loss = model.sequence(torch.randn(2, 3, OBS), model.initial_memory(2), torch.ones(2, 3, dtype=torch.bool))[1].sum()
    loss.backward()
    opt.step()
    before = {n: v.clone() for n, v in model.state_dict().items()}
    reset = LayerReset(k, 100, OBS, space, cfg, seed=7)
    names = reset.reset(model, opt, number=3)
    groups = model.layer_groups()
    expected_prefixes = tuple(f"{m}." for g in groups[-k:] for m in g)
    assert names and set(names) == {n for n in before if n.startswith(expected_prefixes)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7 * 1_000_003 + 3)
        fresh = ActorCritic(OBS, space, cfg).state_dict()
    params = dict(model.named_parameters())
    for name, value in model.state_dict().items():
        if name in names:
            assert torch.equal(value, fresh[name]), name
            if name in params:  # (buffers such as the Gaussian head's centre are constants)
                assert not torch.equal(value, before[name]), name
                assert params[name] not in opt.state, f"{name} kept its Adam moments"
        else:
            assert torch.equal(value, before[name]), f"{name} outside the last {k} layers changed"
            if name in params:
                assert params[name] in opt.state
    assert groups[-1] == ["actor", "critic"]
    assert reset.due(0, 99) is None and reset.due(99, 100) == 1 and reset.due(150, 250) == 2


def test_several_teachers_of_different_cores_average_their_kls_and_keep_their_own_memory():
    teachers = [teacher_of("discrete", "gru", seed=1), teacher_of("discrete", "trxl", seed=2)]
    seq = rollout()
    both = DistillationLoss(KickstartConfig(), OBS, SPACES["discrete"], teachers=teachers)
    both.prepare(seq)
    dist = Categorical(logits=torch.randn(5, 7, 4))
    out = PolicyOutput(dist, torch.zeros(5, 7))
    singles = []
    for teacher in teachers:
        alone = DistillationLoss(KickstartConfig(), OBS, SPACES["discrete"], teachers=[teacher])
        single_seq = rollout()
        alone.prepare(single_seq)
        singles.append(alone(single_seq, out).terms["distill"])
    assert torch.allclose(both(seq, out).terms["distill"], torch.stack(singles).mean(), atol=1e-6)
    state = both.runtime_state()
    assert [m.shape for m in state["memory"]] == [(5, 16), (5, 2, 4, 16)]  # a GRU state, a Transformer-XL cache
