"""Transformer-XL core: step form equals windowed form, episode masking, sizes; GRU shares the interface."""
from __future__ import annotations

import pytest
import torch

from models.actor_critic import MODEL_SIZES, ActionSpace, ActorCritic, PolicyConfig, count_parameters
from models.gru import GRUCore
from models.transformer_xl import TransformerXLCore, segment_ids, window_mask

F = 5


def make_core(gating: bool = True, memory_len: int = 4, layers: int = 2) -> TransformerXLCore:
    torch.manual_seed(0)
    return TransformerXLCore(F, width=16, layers=layers, heads=4, memory_len=memory_len, gating=gating).double()


def rollout(core, x: torch.Tensor, is_init: torch.Tensor, memory: torch.Tensor):
    """Step through ``x [B, T, F]``: outputs ``[B, T, D]`` and the memory before every step (and after the last)."""
    outs, mems = [], [memory]
    for t in range(x.shape[1]):
        out, memory = core.step(x[:, t], memory, is_init[:, t])
        outs.append(out)
        mems.append(memory)
    return torch.stack(outs, 1), mems


def resets(b: int, t: int, p: float = 0.15, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    is_init = torch.rand(b, t, generator=g) < p
    is_init[:, 0] = True
    return is_init


@pytest.mark.parametrize("gating", [True, False])
def test_step_outputs_equal_window_outputs_across_episode_boundaries(gating):
    core = make_core(gating)
    b, t = 4, 24
    x = torch.randn(b, t, F, dtype=torch.double)
    is_init = resets(b, t)
    assert is_init[:, 1:].any(), "the sequence must cross episode boundaries"
    steps, mems = rollout(core, x, is_init, torch.zeros(b, *core.memory_shape(), dtype=torch.double))
    for start, length in [(0, t), (5, 9), (14, 10)]:  # windows that start with a full, detached cache
        window = core.sequence(x[:, start:start + length], mems[start], is_init[:, start:start + length])
        torch.testing.assert_close(window, steps[:, start:start + length], rtol=1e-9, atol=1e-9)


def test_in_place_ring_buffer_steps_equal_functional_steps_and_feed_windows():
    core = make_core(memory_len=4)
    b, t = 3, 15
    x = torch.randn(b, t, F, dtype=torch.double)
    is_init = resets(b, t, p=0.2, seed=2)
    steps, _ = rollout(core, x, is_init, torch.zeros(b, *core.memory_shape(), dtype=torch.double))
    ring, head, outs, snapshots = torch.zeros(b, *core.memory_shape(), dtype=torch.double), 0, [], []
    for i in range(t):
        snapshots.append(core.ordered(ring, head))
        outs.append(core.step_inplace(x[:, i], ring, is_init[:, i], head))
        head = (head + 1) % core.memory_len
    torch.testing.assert_close(torch.stack(outs, 1), steps, rtol=1e-9, atol=1e-9)
    for start in (3, 9):
        window = core.sequence(x[:, start:], snapshots[start], is_init[:, start:])
        torch.testing.assert_close(window, steps[:, start:], rtol=1e-9, atol=1e-9)


def test_next_state_queries_equal_a_step_from_the_memory_after_each_step():
    core = make_core()
    b, t = 3, 12
    x, nx = torch.randn(b, t, F, dtype=torch.double), torch.randn(b, t, F, dtype=torch.double)
    is_init = resets(b, t, seed=3)
    _, mems = rollout(core, x, is_init, torch.zeros(b, *core.memory_shape(), dtype=torch.double))
    no_reset = torch.zeros(b, dtype=torch.bool)
    expected = torch.stack([core.step(nx[:, i], mems[i + 1], no_reset)[0] for i in range(t)], 1)
    _, got = core.sequence(x, mems[0], is_init, next_x=nx)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


def test_attention_never_crosses_an_episode_boundary():
    core = make_core(memory_len=8)
    b, t, boundary = 2, 12, 6
    x = torch.randn(b, t, F, dtype=torch.double)
    is_init = torch.zeros(b, t, dtype=torch.bool)
    is_init[:, 0] = is_init[:, boundary] = True
    memory = torch.zeros(b, *core.memory_shape(), dtype=torch.double)
    base = core.sequence(x, memory, is_init)
    changed = x.clone()
    changed[:, :boundary] += 10 * torch.randn(b, boundary, F, dtype=torch.double)
    after = core.sequence(changed, memory, is_init)
    torch.testing.assert_close(after[:, boundary:], base[:, boundary:], rtol=0, atol=1e-12)
    stepped, _ = rollout(core, changed, is_init, memory)  # the step form with its live cache agrees
    torch.testing.assert_close(stepped[:, boundary:], base[:, boundary:], rtol=0, atol=1e-9)


def test_attention_sees_earlier_steps_of_the_same_episode_and_the_cache():
    core = make_core(memory_len=8)
    b, t = 2, 6
    x = torch.randn(b, t, F, dtype=torch.double)
    is_init = torch.zeros(b, t, dtype=torch.bool)  # a window inside one episode (e.g. across a trial boundary)
    _, mems = rollout(core, torch.randn(b, 4, F, dtype=torch.double), torch.tensor([[True, False, False, False]] * b),
                      torch.zeros(b, *core.memory_shape(), dtype=torch.double))
    base = core.sequence(x, mems[-1], is_init)
    changed = x.clone()
    changed[:, 0] += 1.0
    assert (core.sequence(changed, mems[-1], is_init)[:, 1:] - base[:, 1:]).abs().amax() > 1e-4
    fresh = core.sequence(x, torch.zeros_like(mems[-1]), is_init)  # the cached steps matter too
    assert (fresh - base).abs().amax() > 1e-4


def test_cache_reset_forbids_pre_reset_entries_in_step_form():
    core = make_core(memory_len=6)
    b = 3
    x = torch.randn(b, 5, F, dtype=torch.double)
    start = torch.ones(b, dtype=torch.bool)
    _, mems = rollout(core, x, torch.tensor([[True] + [False] * 4] * b), torch.zeros(b, *core.memory_shape(), dtype=torch.double))
    after_reset, _ = core.step(x[:, 0], mems[-1], start)
    from_empty, _ = core.step(x[:, 0], torch.zeros_like(mems[-1]), start)
    torch.testing.assert_close(after_reset, from_empty, rtol=0, atol=0)


def test_window_mask_is_a_causal_sliding_window_within_segments():
    pos = torch.arange(6)
    seg = segment_ids(torch.tensor([[True, False, False, True, False, False]]))
    mask = window_mask(pos, seg, pos, seg, torch.ones(1, 6, dtype=torch.bool), memory_len=2)[0]
    expected = torch.zeros(6, 6, dtype=torch.bool)
    for q, k in [(1, 0), (2, 0), (2, 1), (4, 3), (5, 3), (5, 4)]:
        expected[q, k] = True
    assert torch.equal(mask, expected)


def test_gated_blocks_start_near_identity_on_the_residual_stream():
    core = make_core(gating=True)
    gate = core.blocks[0].gate_attn
    x, y = torch.randn(8, 16, dtype=torch.double), torch.randn(8, 16, dtype=torch.double)
    z = torch.sigmoid(gate.w(y).chunk(3, -1)[1] + gate.u_rz(x).chunk(2, -1)[1] - gate.bias)
    assert torch.allclose(gate.bias, torch.full_like(gate.bias, 2.0)) and z.mean() < 0.3


@pytest.mark.parametrize("core_name", ["gru", "trxl", "mlp"])
def test_every_core_has_the_same_step_and_sequence_interface(core_name):
    torch.manual_seed(0)
    model = ActorCritic(F, ActionSpace("discrete", n=3), PolicyConfig(core=core_name, hidden=16, heads=2, memory_len=4))
    b, t = 3, 7
    obs = torch.randn(b, t, F)
    is_init = resets(b, t, p=0.3)
    memory = model.initial_memory(b)
    values = []
    for i in range(t):
        dist, value, memory = model.step(obs[:, i], memory, is_init[:, i])
        assert dist.sample().shape == (b,) and value.shape == (b,)
        values.append(value)
    dist, value = model.sequence(obs, model.initial_memory(b), is_init)
    assert value.shape == (b, t) and dist.sample().shape == (b, t)
    torch.testing.assert_close(value, torch.stack(values, 1), rtol=1e-5, atol=1e-5)


def test_gru_core_resets_its_state_on_is_init():
    torch.manual_seed(0)
    core = GRUCore(F, 8)
    h = torch.randn(2, 8)
    x = torch.randn(2, F)
    out, _ = core.step(x, h, torch.tensor([True, False]))
    fresh, _ = core.step(x, torch.zeros(2, 8), torch.tensor([True, True]))
    assert torch.equal(out[0], fresh[0]) and not torch.equal(out[1], fresh[1])


def test_parameter_counts_are_reported_by_name():
    model = ActorCritic(F, ActionSpace("discrete", n=3), PolicyConfig(core="trxl", hidden=16, layers=2, heads=2))
    counts = model.parameter_counts_by_name()
    assert {"encoder.net", "core.inp", "core.blocks", "core.norm", "actor.logits", "critic.v"} <= set(counts)
    assert sum(counts.values()) == sum(p.numel() for p in model.parameters()) == model.parameter_counts()["total"]
    # one gated block: attention 5·D² + out bias D + u, v; feed-forward 8·D² + 5·D; two gates 2·(6·D² + D); two norms 4·D
    d = 16
    block = (5 * d * d + d + 2 * d) + (8 * d * d + 5 * d) + 2 * (6 * d * d + d) + 4 * d
    assert counts["core.blocks"] == 2 * block


@pytest.mark.parametrize("name,nominal", [("100k", 1e5), ("1M", 1e6), ("10M", 1e7), ("100M", 1e8)])
def test_model_sizes_from_100k_to_100m_parameters_are_selectable_by_config(name, nominal):
    total = count_parameters(20, ActionSpace("discrete", n=4), PolicyConfig(**MODEL_SIZES[name]))["total"]
    assert 0.75 * nominal <= total <= 1.25 * nominal, f"{name}: {total}"


def test_smallest_size_instantiates_and_steps_on_cpu():
    model = ActorCritic(20, ActionSpace("multi_discrete", nvec=[3, 2]), PolicyConfig(**MODEL_SIZES["100k"]))
    dist, value, memory = model.step(torch.randn(4, 20), model.initial_memory(4), torch.ones(4, dtype=torch.bool))
    assert dist.sample().shape == (4, 2) and memory.shape == (4, *model.core.memory_shape())
