"""A cheap solvability check for XLand rulesets: can the goal's tiles be produced from the initial objects?

The check is the production graph's forward closure, ignoring where objects land and that rules consume
their inputs: start from the initial objects; a rule whose inputs are all available (and whose trigger
the agent can cause) adds its product; repeat until nothing changes. The goal is reachable when its
tiles are available and the agent can bring about its condition:

- the agent can pick up only the 6 pickable shapes (``agent_hold`` goal and rule inputs), and stand only
  on walkable tiles (``agent_on_tile``: floor or the goal tile);
- a ``tile_near*`` goal or rule is checked on put-down, so one of its two tiles must be pickable; the two
  must differ unless the objects hold two copies;
- ``tile_on_position`` needs a pickable tile and a floor cell of the layout, ``agent_on_position`` a floor
  cell; the empty goal is never reached.

So a level the check rejects cannot be solved (up to luck in the placement: two fixed tiles that happen to
be drawn side by side), and a level it accepts can be solved unless consumption or a distractor rule that
destroys a needed tile gets in the way, which the generator's rulesets avoid by construction (every chain
tile is used once). All rulesets the generator writes pass (``tests/xland/test_solvability.py``).
"""
from __future__ import annotations

import torch
from tensordict import TensorDict

from .config import XLandConfig, wall_mask
from .constants import BALL, FLOOR, GOAL, HEX, KEY, PYRAMID, SQUARE, STAR, pack
from .mutations import FLOOR_BLACK, goal_slots, rule_slots

PICKABLE = {BALL, SQUARE, PYRAMID, KEY, HEX, STAR}
WALKABLE_OBJECTS = {FLOOR, GOAL}  # open doors are never an object of a ruleset


def _pickable(cell: int) -> bool:
    return (cell >> 4) in PICKABLE


def _pair_ok(a: int, b: int, have: dict[int, int]) -> bool:
    """Two tiles for a put-down check: both available, one pickable, two copies if they are the same."""
    if a not in have or b not in have or not (_pickable(a) or _pickable(b)):
        return False
    return a != b or have[a] >= 2


def _closure(tiles: list[int], rules: list[list[int]]) -> dict[int, int]:
    """``{pair: copies}`` the objects and rules can make (each rule adds one copy of its product; saturates at 2)."""
    have: dict[int, int] = {}
    for t in tiles:
        have[t] = min(have.get(t, 0) + 1, 2)
    fired = [False] * len(rules)
    changed = True
    while changed:
        changed = False
        for i, r in enumerate(rules):
            if fired[i]:
                continue
            ins, prod = rule_slots(r[0])
            a = pack(r[ins[0]], r[ins[0] + 1])
            if len(ins) == 2:
                ok = _pair_ok(a, pack(r[ins[1]], r[ins[1] + 1]), have)
            elif r[0] == 1:
                ok = a in have and _pickable(a)
            else:
                ok = a in have
            if ok:
                fired[i] = changed = True
                product = pack(r[prod], r[prod + 1])
                if product not in (0, FLOOR_BLACK):
                    have[product] = min(have.get(product, 0) + 1, 2)
    return have


def _goal_ok(goal: list[int], have: dict[int, int], floor: torch.Tensor) -> bool:
    """Whether the goal's condition can be brought about with the available tiles ``have``."""
    gid = goal[0]
    tiles = [pack(goal[o], goal[o + 1]) for o in goal_slots(gid)]
    if gid == 0:
        return False
    if gid == 6:
        y, x = goal[1], goal[2]
        return y < floor.shape[0] and x < floor.shape[1] and bool(floor[y, x])
    if len(tiles) == 2:
        return _pair_ok(tiles[0], tiles[1], have)
    a = tiles[0]
    if a not in have:
        return False
    if gid == 1:
        return _pickable(a)
    if gid == 2:
        return (a >> 4) in WALKABLE_OBJECTS
    if gid == 5:
        y, x = goal[3], goal[4]
        return _pickable(a) and y < floor.shape[0] and x < floor.shape[1] and bool(floor[y, x])
    return True  # agent_near and agent_near_{up,right,down,left}: the agent walks up to the tile


def solvable(cfg: XLandConfig, levels: TensorDict) -> torch.Tensor:
    """``[n]`` bool: the goal is reachable from the initial objects through the rules (see the module doc)."""
    floor = torch.from_numpy(~wall_mask(cfg.layout, cfg.height, cfg.width))  # [H, W] bool
    host = levels.cpu()
    goal, rules, count, tiles = (host["goal"].tolist(), host["rules"].tolist(), host["num_rules"].tolist(),
                                 host["init_tiles"].tolist())
    out = []
    for i in range(levels.batch_size[0]):
        objects = [pack(t, c) for t, c in tiles[i] if (t, c) != (0, 0)]
        have = _closure(objects, rules[i][:int(count[i])])
        out.append(_goal_ok(goal[i], have, floor))
    return torch.tensor(out, dtype=torch.bool, device=levels["goal"].device)
