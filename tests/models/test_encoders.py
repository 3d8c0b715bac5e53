"""Entity encoder: invariant to the order of entities, blind to padded rows; vector encoder shapes."""
from __future__ import annotations

import torch

from models.encoders import EntityEncoder, VectorEncoder

KINDS = {"shapes": 27, "joints": 22, "thrusters": 8}


def entities(b: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    feats = {"shapes": torch.randn(b, 6, 27, generator=g), "joints": torch.randn(b, 4, 22, generator=g),
             "thrusters": torch.randn(b, 2, 8, generator=g)}
    masks = {"shapes": torch.tensor([[1, 1, 1, 1, 0, 0]] * b).bool(), "joints": torch.tensor([[1, 1, 0, 0]] * b).bool(),
             "thrusters": torch.tensor([[1, 0]] * b).bool()}
    links = {"joints": torch.tensor([[[0, 1], [1, 0], [0, 0], [0, 0]]] * b), "thrusters": torch.tensor([[2, 0]] * b)}
    return feats, masks, links


def encoder() -> EntityEncoder:
    torch.manual_seed(0)
    enc = EntityEncoder(KINDS, hidden=32, layers=2, heads=4).double().eval()
    with torch.no_grad():  # non-zero kind embeddings and summary so the test exercises them
        for p in list(enc.kind_embedding.values()) + [enc.summary]:
            p.normal_()
    return enc


def test_entity_encoder_is_invariant_to_entity_order_with_links_remapped():
    enc = encoder()
    feats, masks, links = entities()
    feats = {k: v.double() for k, v in feats.items()}
    base = enc(feats, masks, links)
    perm = torch.tensor([3, 0, 5, 1, 2, 4])  # new row i holds old row perm[i]
    inv = torch.argsort(perm)  # old row j is now at inv[j]
    f2 = {**feats, "shapes": feats["shapes"][:, perm]}
    m2 = {**masks, "shapes": masks["shapes"][:, perm]}
    jperm = torch.tensor([1, 0, 3, 2])
    f2["joints"], m2["joints"] = feats["joints"][:, jperm], masks["joints"][:, jperm]
    l2 = {"joints": inv[links["joints"][:, jperm]], "thrusters": inv[links["thrusters"]]}
    torch.testing.assert_close(enc(f2, m2, l2), base, rtol=1e-9, atol=1e-9)


def test_entity_encoder_ignores_padded_rows():
    enc = encoder()
    feats, masks, links = entities()
    feats = {k: v.double() for k, v in feats.items()}
    base = enc(feats, masks, links)
    noisy = {k: torch.where(masks[k].unsqueeze(-1), v, 100 * torch.randn_like(v)) for k, v in feats.items()}
    torch.testing.assert_close(enc(noisy, masks, links), base, rtol=1e-9, atol=1e-9)
    changed = {**feats, "shapes": feats["shapes"].clone()}
    changed["shapes"][:, 0] += 1.0  # a valid row does matter
    assert (enc(changed, masks, links) - base).abs().amax() > 1e-4


def test_entity_encoder_keeps_leading_batch_dims_and_handles_empty_sets():
    enc = EntityEncoder(KINDS, hidden=16, layers=1, heads=2)
    feats, masks, links = entities(b=6)
    feats = {k: v.reshape(2, 3, *v.shape[1:]) for k, v in feats.items()}
    masks = {k: torch.zeros_like(v).reshape(2, 3, -1) for k, v in masks.items()}  # no entity at all
    links = {k: v.reshape(2, 3, *v.shape[1:]) for k, v in links.items()}
    out = enc(feats, masks, links)
    assert out.shape == (2, 3, 16) and torch.isfinite(out).all()


def test_vector_encoder_maps_observations_to_features():
    assert VectorEncoder(10, 24).forward(torch.randn(2, 5, 10)).shape == (2, 5, 24)
