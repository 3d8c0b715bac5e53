"""ACCEL-style ruleset mutations for XLand: small random edits in XLand-MiniGrid's encoding.

A level is a ruleset (goal, rules, initial objects; :mod:`envs_warp.xland.rulesets`). Each edit is one of
six operators, drawn uniformly per level, all in the generator's vocabulary (6 pickable shapes and the
goal tile × 10 colours; :mod:`envs_warp.xland.generator`):

- ``RECOLOUR``: one object (tile, colour) of the ruleset gets another colour, everywhere it occurs (goal,
  rule inputs and products, initial objects), so the production chain keeps its shape; the new pair is
  not used elsewhere in the ruleset.
- ``RETILE``: the same with the tile: the new tile is one of the 6 pickable shapes.
- ``ADD_OBJECT``: a distractor object (a pair unused by the ruleset) joins the initial objects.
- ``REMOVE_OBJECT``: an initial object that neither the goal nor any rule reads is dropped.
- ``ADD_RULE``: a dead-end distractor rule as the generator draws it (uniform rule type, inputs of the
  shapes/goal tile with any colour, product an unused pair or black floor); its inputs join the objects.
- ``REMOVE_RULE``: a rule whose product neither the goal nor another rule reads (a dead end) is dropped.

Black floor (what rules may leave behind) and position-goal cells are never edited. A level where the
drawn operator has nothing to act on (no room for an object, no dead-end rule, ...) gets the first
operator, in the order above, that has. Every random draw happens for every level whatever the operator,
so the output depends only on the generator. Mutants stay valid rulesets of the config's capacities
but need not be solvable; callers filter them (:func:`envs_warp.xland.solvability.solvable`).
"""
from __future__ import annotations

import torch
from tensordict import TensorDict

from .config import XLandConfig
from .constants import (BALL, BLACK, BLUE, BROWN, FLOOR, GOAL, GREEN, GREY, HEX, KEY, ORANGE, PINK, PURPLE,
                        PYRAMID, RED, SQUARE, STAR, WHITE, YELLOW, pack)

RECOLOUR, RETILE, ADD_OBJECT, REMOVE_OBJECT, ADD_RULE, REMOVE_RULE = range(6)
NUM_OPERATORS = 6
SHAPES = (BALL, SQUARE, PYRAMID, KEY, STAR, HEX)  # the generator's pickable shapes
COLOURS = (RED, GREEN, BLUE, PURPLE, YELLOW, GREY, WHITE, BROWN, PINK, ORANGE)  # the generator's 10 colours
FLOOR_BLACK = pack(FLOOR, BLACK)
RULE_TYPES = tuple(range(1, 12))  # every non-empty rule id
_DRAWS = 6  # uniforms per level per edit


def goal_slots(gid: int) -> list[int]:
    """Offsets of the (tile, colour) pairs a goal reads in its 5-int code (position cells excluded)."""
    if gid in (0, 6):
        return []
    if gid == 4 or 7 <= gid <= 10:
        return [1, 3]
    return [1]


def rule_slots(rid: int) -> tuple[list[int], int]:
    """(offsets of the input pairs, offset of the product pair) in a rule's 7-int code."""
    if 3 <= rid <= 7:
        return [1, 3], 5
    return [1], 3


def _get(code: list[int], off: int) -> int:
    return pack(code[off], code[off + 1])


def _put(code: list[int], off: int, cell: int) -> None:
    code[off], code[off + 1] = cell >> 4, cell & 15


class _Ruleset:
    """One level as plain lists of packed pairs (edited on the host; levels are small)."""

    def __init__(self, goal: list[int], rules: list[list[int]], hidden: list[int], tiles: list[int]) -> None:
        self.goal, self.rules, self.hidden, self.tiles = goal, rules, hidden, tiles

    def read(self) -> list[int]:
        """Pairs the goal and the rules read (rule inputs)."""
        out = [_get(self.goal, o) for o in goal_slots(self.goal[0])]
        for r in self.rules:
            out += [_get(r, o) for o in rule_slots(r[0])[0]]
        return out

    def used(self) -> set[int]:
        """Every object pair of the ruleset (goal, rule inputs and products, initial objects)."""
        out = set(self.read()) | set(self.tiles)
        out |= {_get(r, rule_slots(r[0])[1]) for r in self.rules}
        return out - {0, FLOOR_BLACK}

    def substitute(self, old: int, new: int) -> None:
        """Replace pair ``old`` by ``new`` everywhere."""
        for o in goal_slots(self.goal[0]):
            if _get(self.goal, o) == old:
                _put(self.goal, o, new)
        for r in self.rules:
            ins, prod = rule_slots(r[0])
            for o in [*ins, prod]:
                if _get(r, o) == old:
                    _put(r, o, new)
        self.tiles = [new if t == old else t for t in self.tiles]


def _pick(items: list, u: float):
    """The item at uniform draw ``u`` in [0, 1)."""
    return items[min(int(u * len(items)), len(items) - 1)]


def _apply(rs: _Ruleset, op: int, u: list[float], caps: tuple[int, int], hidden_prob: float) -> bool:
    """Apply operator ``op`` with uniforms ``u``; False (nothing changed) when it has nothing to act on."""
    rules_cap, tiles_cap = caps
    used = rs.used()
    if op in (RECOLOUR, RETILE):
        objects = sorted(used)
        if not objects:
            return False
        old = _pick(objects, u[0])
        if op == RECOLOUR:
            options = [pack(old >> 4, c) for c in COLOURS]
        else:
            options = [pack(t, old & 15) for t in SHAPES]
        options = [p for p in options if p not in used]
        if not options:
            return False
        rs.substitute(old, _pick(options, u[1]))
        return True
    if op == ADD_OBJECT:
        options = [pack(t, c) for t in (*SHAPES, GOAL) for c in COLOURS if pack(t, c) not in used]
        if len(rs.tiles) >= tiles_cap or not options:
            return False
        rs.tiles.append(_pick(options, u[0]))
        return True
    if op == REMOVE_OBJECT:
        read = set(rs.read())
        loose = [i for i, t in enumerate(rs.tiles) if t not in read]
        if not loose:
            return False
        del rs.tiles[_pick(loose, u[0])]
        return True
    if op == ADD_RULE:
        rid = _pick(list(RULE_TYPES), u[0])
        two = 3 <= rid <= 7
        if len(rs.rules) >= rules_cap or len(rs.tiles) + (2 if two else 1) > tiles_cap:
            return False
        lhs = [pack(t, c) for t in (*SHAPES, GOAL) for c in COLOURS]
        hold = [pack(t, c) for t in SHAPES for c in COLOURS]
        inputs = [_pick(lhs, u[1]), _pick(hold, u[2])] if two else [_pick(hold, u[1])]
        products = [FLOOR_BLACK] + [p for p in hold if p not in used and p not in inputs]
        code = [rid, 0, 0, 0, 0, 0, 0]
        ins, prod = rule_slots(rid)
        for o, cell in zip(ins, inputs):
            _put(code, o, cell)
        _put(code, prod, _pick(products, u[3]))
        rs.rules.append(code)
        rs.hidden.append(int(u[4] < hidden_prob))
        rs.tiles += inputs
        return True
    # REMOVE_RULE: a dead end (its product read by neither the goal nor another rule)
    dead = []
    for i, r in enumerate(rs.rules):
        product = _get(r, rule_slots(r[0])[1])
        others = [_get(rs.goal, o) for o in goal_slots(rs.goal[0])]
        for j, q in enumerate(rs.rules):
            if j != i:
                others += [_get(q, o) for o in rule_slots(q[0])[0]]
        if product not in others:
            dead.append(i)
    if not dead:
        return False
    i = _pick(dead, u[0])
    del rs.rules[i]
    del rs.hidden[i]
    return True


def mutate_levels(levels: TensorDict, cfg: XLandConfig, generator: torch.Generator, num_edits: int = 2) -> TensorDict:
    """A new batch ``[B]`` of mutants of ``levels`` ``[B]``, each with ``num_edits`` random edits (see the module doc)."""
    b = levels.batch_size[0]
    dev = levels["goal"].device
    caps = cfg.capacities()
    ops = torch.randint(0, NUM_OPERATORS, (num_edits, b), generator=generator, device=generator.device).cpu()
    draws = torch.rand(num_edits, b, _DRAWS, generator=generator, device=generator.device).cpu()
    host = levels.cpu()
    goal, rules, count = host["goal"].tolist(), host["rules"].tolist(), host["num_rules"].tolist()
    tiles, hidden = host["init_tiles"].tolist(), host["rule_hidden"].tolist()
    out_goal, out_rules, out_count, out_tiles, out_hidden = [], [], [], [], []
    for i in range(b):
        n = int(count[i])
        rs = _Ruleset(list(goal[i]), [list(r) for r in rules[i][:n]], list(hidden[i][:n]),
                      [pack(t, c) for t, c in tiles[i] if (t, c) != (0, 0)])
        for e in range(num_edits):
            u = draws[e, i].tolist()
            first = int(ops[e, i])
            for op in (first, *range(NUM_OPERATORS)):
                if _apply(rs, op, u, caps, cfg.hidden_rule_prob):
                    break
        out_goal.append(rs.goal)
        out_rules.append(rs.rules + [[0] * 7] * (caps[0] - len(rs.rules)))
        out_count.append(len(rs.rules))
        out_tiles.append([[t >> 4, t & 15] for t in rs.tiles] + [[0, 0]] * (caps[1] - len(rs.tiles)))
        out_hidden.append(rs.hidden + [0] * (caps[0] - len(rs.hidden)))
    u8 = dict(dtype=torch.uint8)
    out = TensorDict({
        "goal": torch.tensor(out_goal, **u8).view(b, 5),
        "rules": torch.tensor(out_rules, **u8).view(b, caps[0], 7),
        "num_rules": torch.tensor(out_count, dtype=torch.int32).view(b),
        "init_tiles": torch.tensor(out_tiles, **u8).view(b, caps[1], 2),
        "rule_hidden": torch.tensor(out_hidden, **u8).view(b, caps[0]),
    }, batch_size=[b])
    return out.to(dev)
