"""Observation encoders: flat vectors (lidar + proprioception) to a feature vector."""
from __future__ import annotations

import torch
from torch import nn


class VectorEncoder(nn.Module):
    """MLP over a flat observation ``[..., D]`` -> ``[..., H]`` with LayerNorm and SiLU."""

    def __init__(self, obs_dim: int, hidden: int = 128, layers: int = 2) -> None:
        super().__init__()
        dims = [obs_dim] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.LayerNorm(b), nn.SiLU()]
        self.net = nn.Sequential(*blocks)
        self.out_dim = hidden

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Features ``[..., H]`` of observations ``[..., D]``."""
        return self.net(obs)


class EntityEncoder(nn.Module):
    """Permutation-invariant encoder of sets of entities (e.g. physics2d shapes, joints, thrusters).

    Each kind of entity has its own feature size and input projection plus a learned kind embedding;
    a joint or thruster may also name the shapes it links (``links``: indices into the ``link_target``
    kind), whose embeddings are added to its own. A learned summary token and all valid entity rows go
    through ``layers`` pre-LayerNorm self-attention blocks (no positions, so order does not matter);
    padded rows (mask False) are never attended to. The output is the summary token ``[..., H]``.
    """

    def __init__(self, kinds: dict[str, int], hidden: int = 128, layers: int = 2, heads: int = 4,
                 link_target: str = "shapes") -> None:
        super().__init__()
        self.kinds = dict(kinds)
        self.link_target = link_target
        self.embed = nn.ModuleDict({k: nn.Linear(f, hidden) for k, f in self.kinds.items()})
        self.kind_embedding = nn.ParameterDict({k: nn.Parameter(torch.zeros(hidden)) for k in self.kinds})
        self.summary = nn.Parameter(torch.zeros(hidden))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(hidden, heads, 4 * hidden, dropout=0.0, activation="gelu", batch_first=True,
                                       norm_first=True)
            for _ in range(layers)
        )
        self.norm = nn.LayerNorm(hidden)
        self.out_dim = hidden

    def forward(self, features: dict[str, torch.Tensor], masks: dict[str, torch.Tensor],
                links: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """``features[k] [..., E_k, F_k]``, ``masks[k] [..., E_k]`` bool, ``links[k] [..., E_k(, j)]`` -> ``[..., H]``."""
        lead = next(iter(features.values())).shape[:-2]
        flat = lambda x, keep: x.reshape(-1, *x.shape[len(lead):]) if keep else x  # noqa: E731
        emb = {k: self.embed[k](flat(x, True)) + self.kind_embedding[k] for k, x in features.items()}  # [B, E_k, H]
        target = emb.get(self.link_target)
        tokens, valid = [], []
        for k, e in emb.items():
            if links is not None and k in links and target is not None:
                idx = flat(links[k], True).long()  # [B, E_k] or [B, E_k, j]
                idx = idx if idx.dim() == 3 else idx.unsqueeze(-1)
                gathered = torch.gather(target.unsqueeze(1).expand(-1, idx.shape[1], -1, -1), 2,
                                        idx.unsqueeze(-1).expand(-1, -1, -1, e.shape[-1]))  # [B, E_k, j, H]
                e = e + gathered.mean(2)
            tokens.append(e)
            valid.append(flat(masks[k], True).bool())
        b = tokens[0].shape[0]
        x = torch.cat([self.summary.expand(b, 1, -1), *tokens], dim=1)  # [B, 1 + E, H]
        keep = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=x.device), *valid], dim=1)  # [B, 1 + E]
        for block in self.blocks:
            x = block(x, src_key_padding_mask=~keep)
        return self.norm(x[:, 0]).reshape(*lead, -1)
