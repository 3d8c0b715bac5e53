"""Transformer-XL memory core (pre-LayerNorm, relative positions, optional GTrXL gating).

Memory layout (one tensor, so the core has the same interface as the GRU): ``[B, L + 1, M, D]``.
Rows ``0..L-1`` hold, per layer, the last ``M`` layer *inputs* (slot ``M - 1`` is the newest step);
row ``L`` is bookkeeping: channel 0 of slot ``j`` is 1 when that slot holds a step of the current
episode, 0 when it is empty (after a reset). A reset (``is_init``) clears every slot, so attention
never reaches a step of an earlier episode; trial boundaries are not resets and are attended across.

Positions: Transformer-XL relative encoding (Dai et al. 2019, §3.3): score =
``(q + u)·k + (q + v)·W_r R[d]`` with sinusoidal ``R`` over the distance ``d = 0..M`` and learned
per-head biases ``u``, ``v``. Each step attends to itself and to at most the ``M`` steps before it
(a sliding window), in both the step and the windowed form, so the two agree exactly.

Masks are built from per-step *segment ids* (``segment_ids(is_init)``: the episode count within the
window): a key is visible iff it has the query's segment, is valid and lies within ``M`` steps
before it. When meta-RL trials arrive, the same mask takes episode ids; trial ids need no mask.
"""
from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn


def sinusoid(distances: int, width: int) -> torch.Tensor:
    """Sinusoidal encodings ``[distances, width]`` of the distances ``0..distances-1``."""
    pos = torch.arange(distances, dtype=torch.float32).unsqueeze(1)  # [P, 1]
    inv = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))  # [D/2]
    enc = torch.zeros(distances, width)
    enc[:, 0::2] = torch.sin(pos * inv)
    enc[:, 1::2] = torch.cos(pos * inv[: width // 2])
    return enc


def segment_ids(is_init: torch.Tensor) -> torch.Tensor:
    """Episode index of each step within a window ``[B, T]`` (0 = the episode the cache belongs to)."""
    return torch.cumsum(is_init.long(), dim=1)


def window_mask(query_pos: torch.Tensor, query_seg: torch.Tensor, key_pos: torch.Tensor, key_seg: torch.Tensor,
                key_valid: torch.Tensor, memory_len: int) -> torch.Tensor:
    """``[B, Q, K]`` bool: key visible to query iff same segment, valid and ``1 <= q - k <= M`` steps back.

    Positions are ``[Q]``/``[K]`` (shared by the batch); segments and validity are ``[B, Q]``/``[B, K]``.
    The query's own key (distance 0) is added by the caller, since several queries may share a position.
    """
    d = query_pos[:, None] - key_pos[None, :]  # [Q, K]
    near = (d >= 1) & (d <= memory_len)
    same = query_seg[:, :, None] == key_seg[:, None, :]  # [B, Q, K]
    return near[None] & same & key_valid[:, None, :]


class GRUGate(nn.Module):
    """GTrXL gate ``g(x, y)``: a GRU update of the residual stream ``x`` by the sublayer output ``y``."""

    def __init__(self, width: int, bias: float = 2.0) -> None:
        super().__init__()
        self.w = nn.Linear(width, 3 * width, bias=False)
        self.u_rz = nn.Linear(width, 2 * width, bias=False)
        self.u_h = nn.Linear(width, width, bias=False)
        self.bias = nn.Parameter(torch.full((width,), bias))  # > 0: starts close to the identity on x

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x, y [..., D]`` -> ``[..., D]``."""
        wr, wz, wh = self.w(y).chunk(3, dim=-1)
        ur, uz = self.u_rz(x).chunk(2, dim=-1)
        r = torch.sigmoid(wr + ur)
        z = torch.sigmoid(wz + uz - self.bias)
        h = torch.tanh(wh + self.u_h(r * x))
        return (1 - z) * x + z * h


class RelativeAttention(nn.Module):
    """Multi-head attention with Transformer-XL relative positions (learned ``u``/``v`` biases)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.q = nn.Linear(width, width, bias=False)
        self.kv = nn.Linear(width, 2 * width, bias=False)
        self.r = nn.Linear(width, width, bias=False)
        self.out = nn.Linear(width, width)
        self.u = nn.Parameter(torch.zeros(heads, width // heads))
        self.v = nn.Parameter(torch.zeros(heads, width // heads))

    def forward(self, q_in: torch.Tensor, kv_in: torch.Tensor, rel: torch.Tensor, dist: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Queries ``[B, Q, D]`` over keys ``[B, K, D]``; ``rel [M+1, D]`` encodings, ``dist [Q, K]``, ``mask [B, Q, K]``."""
        h = self.heads
        q = rearrange(self.q(q_in), "b q (h e) -> b h q e", h=h)  # [B, H, Q, E]
        k, v = rearrange(self.kv(kv_in), "b k (two h e) -> two b h k e", two=2, h=h)  # [B, H, K, E] each
        r = rearrange(self.r(rel), "p (h e) -> h p e", h=h)  # [H, M+1, E]
        content = torch.einsum("bhqe,bhke->bhqk", q + self.u[:, None], k)  # [B, H, Q, K]
        by_dist = torch.einsum("bhqe,hpe->bhqp", q + self.v[:, None], r)  # [B, H, Q, M+1]
        index = dist[None, None].expand(q.shape[0], h, -1, -1)  # [B, H, Q, K]
        scores = (content + torch.gather(by_dist, -1, index)) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(~mask[:, None], float("-inf"))
        attn = torch.softmax(scores, dim=-1)
        return self.out(rearrange(torch.einsum("bhqk,bhke->bhqe", attn, v), "b h q e -> b q (h e)"))


class TrXLBlock(nn.Module):
    """Pre-LayerNorm block: relative attention over (cache, queries), then a feed-forward, each residual or gated."""

    def __init__(self, width: int, heads: int, ff_mult: int = 4, gating: bool = True, gate_bias: float = 2.0) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(width)
        self.attn = RelativeAttention(width, heads)
        self.norm_ff = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, ff_mult * width), nn.ReLU(), nn.Linear(ff_mult * width, width))
        self.gating = gating
        if gating:
            self.gate_attn = GRUGate(width, gate_bias)
            self.gate_ff = GRUGate(width, gate_bias)

    def forward(self, x: torch.Tensor, cache: torch.Tensor, rel: torch.Tensor, dist: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Queries ``x [B, Q, D]`` with ``cache [B, M, D]`` in front of them as keys; -> ``[B, Q, D]``."""
        kv = self.norm_attn(torch.cat([cache, x], dim=1))  # [B, M+Q, D]
        y = self.attn(kv[:, cache.shape[1]:], kv, rel, dist, mask)
        x = self.gate_attn(x, torch.relu(y)) if self.gating else x + y
        y = self.ff(self.norm_ff(x))
        return self.gate_ff(x, torch.relu(y)) if self.gating else x + y


class TransformerXLCore(nn.Module):
    """Transformer-XL over a per-sequence cache of the last ``memory_len`` layer inputs."""

    def __init__(self, in_dim: int, width: int = 128, layers: int = 2, heads: int = 4, memory_len: int = 32,
                 gating: bool = True, ff_mult: int = 4, gate_bias: float = 2.0) -> None:
        super().__init__()
        self.width, self.layers, self.memory_len = width, layers, memory_len
        self.inp = nn.Linear(in_dim, width)
        self.blocks = nn.ModuleList(TrXLBlock(width, heads, ff_mult, gating, gate_bias) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.register_buffer("rel", sinusoid(memory_len + 1, width), persistent=False)  # [M+1, D]
        self.out_dim = width

    # The cache is large ([L+1, M, D] per sequence): rollout code keeps it out of per-step storage.
    cached_memory = True

    def memory_shape(self) -> tuple[int, ...]:
        """Shape of one sequence's memory (without batch): per-layer caches plus a validity row."""
        return (self.layers + 1, self.memory_len, self.width)

    def _unpack(self, memory: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """``memory [B, L+1, M, D]`` -> (caches ``[B, L, M, D]``, valid ``[B, M]`` bool)."""
        return memory[:, : self.layers].to(dtype), memory[:, self.layers, :, 0] > 0.5

    def step(self, x: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: ``x [B, F]``, ``memory [B, L+1, M, D]``, ``is_init [B]`` -> (``[B, D]``, new memory)."""
        m = self.memory_len
        h = self.inp(x).unsqueeze(1)  # [B, 1, D]
        keep = (~is_init).to(h.dtype)[:, None, None, None]
        caches, valid = self._unpack(memory, h.dtype)
        caches = caches * keep  # a reset empties the cache
        valid = valid & ~is_init[:, None]  # [B, M]
        dist = torch.arange(m, -1, -1, device=x.device)[None]  # [1, M+1]: slot j is M - j steps back
        mask = torch.cat([valid, torch.ones_like(valid[:, :1])], dim=1)[:, None]  # [B, 1, M+1]
        new_caches = []
        for layer, block in enumerate(self.blocks):
            new_caches.append(torch.cat([caches[:, layer, 1:], h], dim=1))  # [B, M, D]
            h = block(h, caches[:, layer], self.rel.to(h.dtype), dist, mask)
        new_valid = torch.cat([valid[:, 1:], torch.ones_like(valid[:, :1])], dim=1)  # [B, M]
        flags = new_valid.to(h.dtype)[:, None, :, None].expand(-1, 1, m, self.width)
        new_memory = torch.cat([torch.stack(new_caches, dim=1), flags], dim=1).to(memory.dtype)
        return self.norm(h[:, 0]), new_memory

    @torch.no_grad()
    def step_inplace(self, x: torch.Tensor, cache: torch.Tensor, is_init: torch.Tensor, head: int) -> torch.Tensor:
        """Rollout step on a ring-buffer ``cache [B, L+1, M, D]``, written in place; -> output ``[B, D]``.

        ``head`` is the slot the oldest step occupies (all rows step together, so one integer serves
        the batch); this step overwrites it, so the caller advances ``head = (head + 1) % M``. A reset
        clears only the validity row of its sequences. ``ordered(cache, head)`` gives ``step``'s layout.
        """
        m = self.memory_len
        h = self.inp(x).unsqueeze(1)  # [B, 1, D]
        flags = cache[:, self.layers]  # [B, M, D] view: validity in channel 0
        flags.masked_fill_(is_init[:, None, None], 0)
        valid = flags[:, :, 0] > 0.5  # [B, M]
        age = (head - 1 - torch.arange(m, device=x.device)) % m + 1  # [M] steps back of each slot
        dist = torch.cat([age, age.new_zeros(1)])[None]  # [1, M+1]
        mask = torch.cat([valid, torch.ones_like(valid[:, :1])], dim=1)[:, None]  # [B, 1, M+1]
        rel = self.rel.to(h.dtype)
        for layer, block in enumerate(self.blocks):
            out = block(h, cache[:, layer].to(h.dtype), rel, dist, mask)
            cache[:, layer, head] = h[:, 0].to(cache.dtype)  # the layer's input joins its cache
            h = out
        flags[:, head] = 1
        return self.norm(h[:, 0])

    @staticmethod
    def ordered(cache: torch.Tensor, head: int) -> torch.Tensor:
        """A ring-buffer cache in ``step``/``sequence`` layout (oldest slot first) ``[B, L+1, M, D]``."""
        return torch.roll(cache, shifts=-head, dims=2)

    def sequence(self, x: torch.Tensor, memory: torch.Tensor, is_init: torch.Tensor,
                 next_x: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Window ``x [B, T, F]`` after ``memory`` (detached) with resets ``is_init [B, T]`` -> ``[B, T, D]``.

        ``next_x [B, T, F]``, if given, are extra queries: ``next_x[:, t]`` is seen as the step after
        ``t`` in ``t``'s episode without entering the cache (what ``step`` on the memory after step
        ``t`` with no reset returns); their outputs ``[B, T, D]`` are returned as a second value.
        """
        b, t = x.shape[:2]
        m, dev = self.memory_len, x.device
        h = self.inp(x if next_x is None else torch.cat([x, next_x], dim=1))  # [B, Q, D]
        caches, valid = self._unpack(memory.detach(), h.dtype)
        seg = segment_ids(is_init)  # [B, T]
        steps = torch.arange(t, device=dev)
        cache_pos = torch.arange(-m, 0, device=dev)
        q_pos, q_seg, shared = steps, seg, torch.ones(t, dtype=torch.bool, device=dev)
        if next_x is not None:  # extra queries: one step later, same episode, private to themselves
            q_pos, q_seg = torch.cat([steps, steps + 1]), torch.cat([seg, seg], dim=1)
            shared = torch.cat([shared, torch.zeros_like(shared)])
        key_pos = torch.cat([cache_pos, q_pos])  # [M+Q]
        key_seg = torch.cat([torch.zeros_like(seg[:, :1]).expand(-1, m), q_seg], dim=1)  # [B, M+Q]
        key_valid = torch.cat([valid, shared[None].expand(b, -1)], dim=1)  # [B, M+Q]
        q = q_pos.shape[0]
        mask = window_mask(q_pos, q_seg, key_pos, key_seg, key_valid, m)  # [B, Q, M+Q]
        mask[:, :, m:] |= torch.eye(q, dtype=torch.bool, device=dev)  # every query sees itself
        dist = (q_pos[:, None] - key_pos[None, :]).clamp(0, m)  # [Q, M+Q]
        rel = self.rel.to(h.dtype)
        for layer, block in enumerate(self.blocks):
            h = block(h, caches[:, layer], rel, dist, mask)
        out = self.norm(h)
        return out if next_x is None else (out[:, :t], out[:, t:])
