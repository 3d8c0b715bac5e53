"""Entity encoder: masked self-attention over a scene's shapes, with joints and thrusters as messages.

A world that offers an entity observation packs it into one flat vector per row (so rollouts, trial
inputs and losses handle it like any observation); :class:`EntityLayout` says how it is packed and
:meth:`EntityLayout.split` takes it apart. The encoder follows the structure of Kinetix's permutation-
invariant transformer (Matthews et al. 2025), written here from the paper's description:

- every shape row is embedded; a learned summary token (plus an embedding of the global inputs:
  gravity, trial inputs) joins them;
- each block is pre-LayerNorm multi-head self-attention whose heads are split among relations,
  head ``h`` seeing the mask of relation ``h % 4``: ``all`` (every valid shape), ``structure`` (shapes
  linked through any chain of joints: one rigid-or-motorised assembly), ``jointed`` (shapes one joint
  apart), ``contact`` (shape pairs the simulator holds an active contact manifold for after the step,
  as the world reports them); every token also sees itself and the summary, and the summary sees
  every valid shape;
- then joints and thrusters send messages: an MLP of (from-shape, to-shape, joint row) is added to the
  from-shape (each joint comes in both directions), an MLP of (body, thruster row) to the thruster's body;
- the output is the summary token after a final LayerNorm.

No positions are used, so the output is invariant to the order of shapes (with joint and thruster
indices renumbered), of joints and of thrusters; padded rows (mask 0) never reach a valid token.
The parameters depend on feature sizes only, not on entity counts: one set of weights runs a scene of
any capacity (physics2d S, M or L).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

RELATIONS = ("all", "structure", "jointed", "contact")  # head groups, in order (Kinetix's order)


def contact_pairs(shapes: int) -> int:
    """Number of unordered shape pairs ``S (S - 1) / 2``: the length of the packed contact flags."""
    return shapes * (shapes - 1) // 2


@dataclass(frozen=True)
class EntityLayout:
    """How an entity observation is packed into a flat vector ``[..., size]``.

    Order: shapes ``[S, Fs]``, shape mask ``[S]``, joints ``[J, Fj]``, joint index ``[J, 2]`` (from, to
    shape), joint mask ``[J]``, thrusters ``[T, Ft]``, thruster index ``[T]`` (body), thruster mask
    ``[T]``, contact flags ``[S (S - 1) / 2]`` (one per shape pair ``a < b`` in ``torch.triu_indices(S, S, 1)``
    order: 1 where the pair is in contact), then ``globals`` values (e.g. gravity, then any trial inputs
    appended to the observation). Masks, flags and indices are stored as floats (exact small integers).
    """

    shapes: int
    joints: int
    thrusters: int
    shape_features: int
    joint_features: int
    thruster_features: int
    globals: int = 0

    @property
    def size(self) -> int:
        """Length of the packed vector."""
        return (self.shapes * (self.shape_features + 1) + self.joints * (self.joint_features + 3)
                + self.thrusters * (self.thruster_features + 2) + contact_pairs(self.shapes) + self.globals)

    def with_globals(self, globals_: int) -> "EntityLayout":
        """The same layout with ``globals_`` global values at the end."""
        return EntityLayout(self.shapes, self.joints, self.thrusters, self.shape_features, self.joint_features,
                            self.thruster_features, globals_)

    def split(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Parts of packed observations ``[B, size]``: features ``[B, E, F]``, masks ``[B, E]`` bool, indices long."""
        if obs.shape[-1] != self.size:
            raise ValueError(f"entity observation has {obs.shape[-1]} values, the layout {self} packs {self.size}")
        b = obs.shape[0]
        sizes = [self.shapes * self.shape_features, self.shapes, self.joints * self.joint_features, self.joints * 2,
                 self.joints, self.thrusters * self.thruster_features, self.thrusters, self.thrusters,
                 contact_pairs(self.shapes), self.globals]
        parts = torch.split(obs, sizes, dim=-1)
        return {
            "shapes": parts[0].reshape(b, self.shapes, self.shape_features),
            "shape_mask": parts[1] > 0.5,
            "joints": parts[2].reshape(b, self.joints, self.joint_features),
            "joint_index": parts[3].reshape(b, self.joints, 2).round().long(),
            "joint_mask": parts[4] > 0.5,
            "thrusters": parts[5].reshape(b, self.thrusters, self.thruster_features),
            "thruster_index": parts[6].round().long(),
            "thruster_mask": parts[7] > 0.5,
            "contact": parts[8] > 0.5,  # [B, S (S - 1) / 2]
            "globals": parts[9],
        }


def relation_masks(shape_mask: torch.Tensor, joint_index: torch.Tensor, joint_mask: torch.Tensor,
                   contact: torch.Tensor) -> torch.Tensor:
    """``[B, 4, S, S]`` bool (``RELATIONS``: all, structure, jointed, contact) between valid shapes; diagonal set.

    ``shape_mask [B, S]`` bool, ``joint_index [B, J, 2]`` long, ``joint_mask [B, J]`` bool, ``contact
    [B, S (S - 1) / 2]`` bool (per shape pair ``a < b`` in ``torch.triu_indices(S, S, 1)`` order).
    """
    b, s = shape_mask.shape
    eye = torch.eye(s, dtype=torch.bool, device=shape_mask.device).expand(b, s, s)
    valid = shape_mask.unsqueeze(2) & shape_mask.unsqueeze(1)  # [B, S, S]
    adj = torch.zeros(b, s, s, device=shape_mask.device)
    if joint_index.shape[1]:
        flat = joint_index[..., 0] * s + joint_index[..., 1]  # [B, J]
        adj.view(b, s * s).scatter_add_(1, flat, joint_mask.float())
        adj = adj + adj.transpose(1, 2)
    jointed = (adj > 0) & valid
    reach = (jointed | eye).float()  # transitive closure by repeated squaring: log2(S) products
    for _ in range(max(1, (s - 1).bit_length())):
        reach = (reach @ reach).clamp(max=1.0)
    structure = (reach > 0) & valid
    if contact.shape[-1] != contact_pairs(s):
        raise ValueError(f"contact flags have {contact.shape[-1]} entries, {s} shapes have {contact_pairs(s)} pairs")
    touching = torch.zeros(b, s, s, dtype=torch.bool, device=shape_mask.device)
    pa, pb = torch.triu_indices(s, s, 1, device=shape_mask.device)  # [K], [K]
    touching[:, pa, pb] = contact
    touching = (touching | touching.transpose(1, 2)) & valid
    return torch.stack([valid | eye, structure | eye, jointed | eye, touching | eye], dim=1)


class _Block(nn.Module):
    """Relation-masked self-attention, feed-forward, then joint and thruster messages to their shapes."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.attention = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden))
        self.joint_message = nn.Sequential(nn.Linear(2 * hidden + hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.thruster_message = nn.Sequential(nn.Linear(hidden + hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))

    def forward(self, x: torch.Tensor, blocked: torch.Tensor, joints: torch.Tensor, joint_index: torch.Tensor,
                joint_mask: torch.Tensor, thrusters: torch.Tensor, thruster_index: torch.Tensor,
                thruster_mask: torch.Tensor) -> torch.Tensor:
        """``x [B, 1 + S, H]`` (summary first); ``blocked [B·heads, 1 + S, 1 + S]`` True where attention is barred."""
        h = self.norm1(x)
        x = x + self.attention(h, h, h, attn_mask=blocked, need_weights=False)[0]
        x = x + self.ff(self.norm2(x))
        summary, shapes = x[:, :1], x[:, 1:]  # [B, 1, H], [B, S, H]
        hidden = shapes.shape[-1]
        delta = torch.zeros_like(shapes)
        if joints.shape[1]:
            take = lambda idx: torch.gather(shapes, 1, idx.unsqueeze(-1).expand(-1, -1, hidden))  # noqa: E731
            msg = self.joint_message(torch.cat([take(joint_index[..., 0]), take(joint_index[..., 1]), joints], -1))
            msg = msg * joint_mask.unsqueeze(-1)  # [B, J, H]
            delta = delta.scatter_add(1, joint_index[..., 0].unsqueeze(-1).expand(-1, -1, hidden), msg)
        if thrusters.shape[1]:
            body = torch.gather(shapes, 1, thruster_index.unsqueeze(-1).expand(-1, -1, hidden))  # [B, T, H]
            msg = self.thruster_message(torch.cat([body, thrusters], -1)) * thruster_mask.unsqueeze(-1)
            delta = delta.scatter_add(1, thruster_index.unsqueeze(-1).expand(-1, -1, hidden), msg)
        return torch.cat([summary, shapes + delta], dim=1)


class EntityEncoder(nn.Module):
    """Packed entity observations ``[..., layout.size]`` -> scene features ``[..., H]`` (see the module docstring)."""

    def __init__(self, layout: EntityLayout, hidden: int = 128, layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        if heads < len(RELATIONS):
            raise ValueError(f"policy.entity_heads must be >= {len(RELATIONS)} (head h sees relation h % "
                             f"{len(RELATIONS)}: {', '.join(RELATIONS)}), got {heads}")
        if hidden % heads:
            raise ValueError(f"policy.hidden ({hidden}) must be divisible by policy.entity_heads ({heads})")
        self.layout = layout
        self.heads = heads
        self.shape_embed = nn.Sequential(nn.Linear(layout.shape_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.joint_embed = nn.Sequential(nn.Linear(layout.joint_features, hidden), nn.ReLU())
        self.thruster_embed = nn.Sequential(nn.Linear(layout.thruster_features, hidden), nn.ReLU())
        self.summary = nn.Parameter(torch.zeros(hidden))
        self.globals_embed = nn.Linear(layout.globals, hidden) if layout.globals else None
        self.blocks = nn.ModuleList(_Block(hidden, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)
        self.out_dim = hidden

    def attention_block(self, shape_mask: torch.Tensor, joint_index: torch.Tensor, joint_mask: torch.Tensor,
                        contact: torch.Tensor) -> torch.Tensor:
        """``[B·heads, 1 + S, 1 + S]`` bool, True where a head may not attend (its relation group's mask)."""
        rel = relation_masks(shape_mask, joint_index, joint_mask, contact)  # [B, 4, S, S]
        b, g, s, _ = rel.shape
        allowed = torch.ones(b, g, s + 1, s + 1, dtype=torch.bool, device=rel.device)
        allowed[:, :, 1:, 1:] = rel
        allowed[:, :, 0, 1:] = shape_mask.unsqueeze(1)  # the summary reads every valid shape
        group = torch.arange(self.heads, device=rel.device) % g  # head h sees relation h % 4
        per_head = allowed[:, group]  # [B, heads, 1 + S, 1 + S]
        return ~per_head.reshape(b * self.heads, s + 1, s + 1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Features ``[..., H]`` of packed entity observations ``[..., size]``."""
        lead = obs.shape[:-1]
        p = self.layout.split(obs.reshape(-1, obs.shape[-1]))
        b = p["shapes"].shape[0]
        shapes = self.shape_embed(p["shapes"])  # [B, S, H]
        summary = self.summary.expand(b, 1, -1)
        if self.globals_embed is not None:
            summary = summary + self.globals_embed(p["globals"]).unsqueeze(1)
        x = torch.cat([summary, shapes], dim=1)  # [B, 1 + S, H]
        blocked = self.attention_block(p["shape_mask"], p["joint_index"], p["joint_mask"], p["contact"])
        joints, thrusters = self.joint_embed(p["joints"]), self.thruster_embed(p["thrusters"])
        for block in self.blocks:
            x = block(x, blocked, joints, p["joint_index"], p["joint_mask"], thrusters, p["thruster_index"],
                      p["thruster_mask"])
        return self.norm(x[:, 0]).reshape(*lead, -1)
