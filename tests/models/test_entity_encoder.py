"""Entity encoder: invariant to the order of shapes, joints and thrusters; blind to padded rows; relation masks
(all, structure, jointed, contact)."""
from __future__ import annotations

import pytest
import torch

from models.actor_critic import ActionSpace, ActorCritic, PolicyConfig
from models.entity_encoder import RELATIONS, EntityEncoder, EntityLayout, relation_masks

LAYOUT = EntityLayout(shapes=6, joints=4, thrusters=2, shape_features=5, joint_features=4, thruster_features=3,
                      globals=2)


PAIRS = torch.triu_indices(6, 6, 1)  # [2, 15] the packed contact flags' shape pairs (a < b)


def pair_flags(touching: list[tuple[int, int]], b: int) -> torch.Tensor:
    """Packed contact flags ``[b, 15]`` with the given shape pairs set."""
    m = torch.zeros(6, 6)
    for i, j in touching:
        m[i, j] = m[j, i] = 1.0
    return m[PAIRS[0], PAIRS[1]].double().expand(b, -1).clone()


def scene(b: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    """Parts of ``b`` scenes: shapes 0..3 valid, joints 0-1 (both directions) and 1-2, thruster on shape 2,
    shapes 0 and 3 in contact."""
    g = torch.Generator().manual_seed(seed)
    return {
        "shapes": torch.randn(b, 6, 5, generator=g, dtype=torch.float64),
        "shape_mask": torch.tensor([[1, 1, 1, 1, 0, 0]] * b, dtype=torch.float64),
        "joints": torch.randn(b, 4, 4, generator=g, dtype=torch.float64),
        "joint_index": torch.tensor([[[0, 1], [1, 0], [1, 2], [0, 0]]] * b, dtype=torch.float64),
        "joint_mask": torch.tensor([[1, 1, 1, 0]] * b, dtype=torch.float64),
        "thrusters": torch.randn(b, 2, 3, generator=g, dtype=torch.float64),
        "thruster_index": torch.tensor([[2, 0]] * b, dtype=torch.float64),
        "thruster_mask": torch.tensor([[1, 0]] * b, dtype=torch.float64),
        "contact": pair_flags([(0, 3)], b),
        "globals": torch.randn(b, 2, generator=g, dtype=torch.float64),
    }


def pack(p: dict[str, torch.Tensor]) -> torch.Tensor:
    """The packed vector ``[B, LAYOUT.size]`` of the parts, in ``EntityLayout`` order."""
    return torch.cat([p[k].flatten(1) for k in ("shapes", "shape_mask", "joints", "joint_index", "joint_mask",
                                                "thrusters", "thruster_index", "thruster_mask", "contact",
                                                "globals")], 1)


def encoder() -> EntityEncoder:
    torch.manual_seed(0)
    enc = EntityEncoder(LAYOUT, hidden=24, layers=2, heads=4).double().eval()
    with torch.no_grad():
        enc.summary.normal_()
    return enc


def test_split_inverts_pack():
    p = scene()
    parts = LAYOUT.split(pack(p))
    assert torch.equal(parts["shapes"], p["shapes"]) and torch.equal(parts["globals"], p["globals"])
    assert parts["joint_index"].dtype == torch.long and parts["joint_index"][0, 2].tolist() == [1, 2]
    assert parts["shape_mask"][0].tolist() == [True] * 4 + [False] * 2
    assert parts["contact"].shape == (3, 15) and parts["contact"][0].nonzero().flatten().tolist() == [2]  # (0, 3)


def test_output_is_invariant_to_the_order_of_shapes_joints_and_thrusters():
    enc = encoder()
    p = scene()
    base = enc(pack(p))
    perm = torch.tensor([3, 0, 5, 1, 2, 4])  # new shape row i holds old row perm[i]
    inv = torch.argsort(perm).double()  # old row j is now at inv[j]
    jperm, tperm = torch.tensor([2, 3, 0, 1]), torch.tensor([1, 0])
    q = dict(p)
    q["shapes"], q["shape_mask"] = p["shapes"][:, perm], p["shape_mask"][:, perm]
    q["joints"], q["joint_mask"] = p["joints"][:, jperm], p["joint_mask"][:, jperm]
    q["joint_index"] = inv[p["joint_index"][:, jperm].long()]
    q["thrusters"], q["thruster_mask"] = p["thrusters"][:, tperm], p["thruster_mask"][:, tperm]
    q["thruster_index"] = inv[p["thruster_index"][:, tperm].long()]
    new_pairs = [(int(inv[0]), int(inv[3]))]  # the touching pair (0, 3) under its new numbers
    q["contact"] = pair_flags(new_pairs, 3)
    torch.testing.assert_close(enc(pack(q)), base, rtol=1e-9, atol=1e-9)
    other = dict(p, contact=pair_flags([(1, 3)], 3))  # which shapes touch matters
    assert (enc(pack(other)) - base).abs().amax() > 1e-4
    moved = dict(p, thruster_index=torch.tensor([[1.0, 0.0]] * 3))  # the thruster on another shape matters
    assert (enc(pack(moved)) - base).abs().amax() > 1e-4


def test_padded_rows_are_ignored_and_valid_rows_matter():
    enc = encoder()
    p = scene()
    base = enc(pack(p))
    noisy = dict(p)
    for key, mask in (("shapes", "shape_mask"), ("joints", "joint_mask"), ("thrusters", "thruster_mask")):
        noise = 100 * torch.randn_like(p[key])
        noisy[key] = torch.where(p[mask].unsqueeze(-1) > 0.5, p[key], noise)
    noisy["joint_index"] = p["joint_index"].clone()
    noisy["joint_index"][:, 3] = torch.tensor([4.0, 5.0])  # a padded joint between padded shapes
    noisy["contact"] = pair_flags([(0, 3), (3, 4), (4, 5), (1, 5)], 3)  # flags naming a padded shape
    torch.testing.assert_close(enc(pack(noisy)), base, rtol=1e-9, atol=1e-9)
    for key in ("shapes", "joints", "thrusters", "globals"):
        changed = dict(p)
        changed[key] = p[key].clone()
        changed[key][:, 0] += 1.0  # row 0 is valid in every kind
        assert (enc(pack(changed)) - base).abs().amax() > 1e-4, f"a valid {key} row did not change the output"


def test_relation_masks_link_joints_and_their_chains():
    p = LAYOUT.split(pack(scene(b=1)))
    contact = pair_flags([(0, 3), (3, 4)], 1) > 0.5  # (3, 4) names a padded shape
    rel = relation_masks(p["shape_mask"], p["joint_index"], p["joint_mask"], contact)[0]  # [4, S, S]
    assert RELATIONS == ("all", "structure", "jointed", "contact")
    valid = torch.tensor([1, 1, 1, 1, 0, 0]).bool()
    eye = torch.eye(6).bool()
    assert torch.equal(rel[0], (valid[:, None] & valid[None]) | eye)
    assert rel[1, 0, 2] and rel[1, 2, 0] and not rel[1, 0, 3]  # 0-1-2 is one assembly; 3 is alone
    assert rel[2, 0, 1] and rel[2, 1, 2] and not rel[2, 0, 2]  # one joint apart
    touching = eye.clone()
    touching[0, 3] = touching[3, 0] = True
    assert torch.equal(rel[3], touching)  # only the valid touching pair, both ways, plus the diagonal
    assert not rel[:, 3, 4].any() and rel[:, 4, 4].all()  # padded shapes: themselves only
    with pytest.raises(ValueError, match="contact flags"):
        relation_masks(p["shape_mask"], p["joint_index"], p["joint_mask"], contact[:, :14])


def test_contact_heads_attend_only_between_touching_shapes():
    enc = EntityEncoder(LAYOUT, hidden=24, layers=1, heads=8)
    p = LAYOUT.split(pack(scene(b=2)))
    blocked = enc.attention_block(p["shape_mask"], p["joint_index"], p["joint_mask"], p["contact"]).view(2, 8, 7, 7)
    for h in (3, 7):  # head h sees relation h % 4: contact
        shapes = ~blocked[:, h, 1:, 1:]  # [B, S, S] allowed between shape tokens
        assert shapes[:, 0, 3].all() and shapes[:, 3, 0].all()  # the touching pair
        assert not shapes[:, 0, 1].any() and not shapes[:, 1, 2].any() and not shapes[:, 2, 3].any()
        assert torch.equal(shapes[:, 1], torch.eye(6).bool()[1].expand(2, -1))  # 1 touches nothing: itself only
    assert (~blocked[:, 1, 1:, 1:])[:, 0, 2].all()  # a structure head sees the assembly 0-1-2
    assert (~blocked[:, 0, 1:, 1:])[:, 1, 3].all()  # an "all" head sees every valid shape


def test_actor_critic_runs_the_entity_encoder_over_sequences():
    cfg = PolicyConfig(encoder="entity", hidden=24, entity_heads=4, encoder_layers=1)
    model = ActorCritic(LAYOUT.size, ActionSpace(kind="multi_discrete", nvec=[3, 3, 2]), cfg, LAYOUT).double()
    obs = pack(scene(b=4)).view(2, 2, -1)  # [B, T, D]
    dist, value = model.sequence(obs, model.initial_memory(2, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.bool))
    assert value.shape == (2, 2) and dist.sample().shape == (2, 2, 3)
    with pytest.raises(ValueError, match="entity layout"):
        ActorCritic(LAYOUT.size, ActionSpace(kind="discrete", n=3), cfg)
    with pytest.raises(ValueError, match="entity_heads"):
        EntityEncoder(LAYOUT, hidden=24, heads=2)
