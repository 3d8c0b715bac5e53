"""Ruleset generator (stage: levels): XLand-MiniGrid's published procedure as one Warp thread per ruleset.

The procedure (AdA appendix A.2 as XLand-MiniGrid 0.9.3 implements it in ``scripts/ruleset_generator.py``):
sample a goal (11 types, uniform; tiles among 6 pickable shapes ⊕ the goal tile × 10 colours); build a
production chain backwards from the goal's tiles, ``chain_depth`` levels deep, popping tiles last-in
first-out: each tile is pruned into an initial object with ``prune_prob`` or becomes the product of a
fresh rule (11 types, uniform) whose inputs avoid every tile already used and feed the next level;
the last level's inputs are the initial objects. Then ``num_distractor_objects`` objects among unused
tiles (with replacement) and up to ``num_distractor_rules`` dead-end rules (product among unused
tiles or black floor, inputs unrestricted, inputs added as objects). Rulesets are compacted: the empty
placeholder rule upstream writes for depth-0 chains is not stored (it does nothing).
:func:`generate_benchmark` rejects duplicates by (goal, rules) as upstream does.

Random numbers come from (seed, counter) per ruleset, so an env's random level is rebuilt from its tag.
"""
from __future__ import annotations

import numpy as np
import torch
import warp as wp
from tensordict import TensorDict

from ..core.env_base import mix_seeds
from ..core.launch import RowLauncher
from ..core.warp_runtime import init_warp, warp_device
from .config import GeneratorPreset

wp.set_module_options({"enable_backward": False})

HIDDEN_SALT = wp.constant(0x68E31DA4)
FLOOR_BLACK = wp.constant((1 << 4) | 7)
KIND_HOLD = wp.constant(0)  # 6 pickable shapes × 10 colours (also the right-hand tile of a pair)
KIND_LHS = wp.constant(1)  # the same plus the goal tile (70)
KIND_PROD = wp.constant(2)  # pickable tiles plus black floor (61: a product may "disappear")


@wp.struct
class GenParams:
    """The preset's settings as kernel scalars."""

    chain_depth: int
    num_distractor_rules: int
    num_distractor_objects: int
    sample_depth: int
    sample_distractor_rules: int
    prune_chain: int
    prune_prob: float
    hidden_prob: float


@wp.func
def rand_int(rng: wp.array(dtype=wp.uint32), env: int, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi) from ``rng[env]`` (advanced in place)."""
    state = rng[env]
    value = wp.randi(state, lo, hi)
    rng[env] = state
    return value


@wp.func
def rand_unit(rng: wp.array(dtype=wp.uint32), env: int) -> float:
    """Uniform float in [0, 1) from ``rng[env]``."""
    state = rng[env]
    value = wp.randf(state)
    rng[env] = state
    return value


@wp.func
def kind_tile(kind: int, k: int) -> int:
    """The ``k``-th packed tile of a candidate list (shapes ball, square, pyramid, key, star, hex, goal)."""
    if kind == KIND_PROD and k == 60:
        return FLOOR_BLACK
    t = k // 10
    c = k % 10
    tile = int(6)  # goal (LHS only, t == 6)
    if t == 0:
        tile = 3
    elif t == 1:
        tile = 4
    elif t == 2:
        tile = 5
    elif t == 3:
        tile = 7
    elif t == 4:
        tile = 12
    elif t == 5:
        tile = 11
    color = c + 1  # red, green, blue, purple, yellow, grey
    if c == 6:
        color = 9  # white
    elif c == 7:
        color = 10  # brown
    elif c == 8:
        color = 11  # pink
    elif c == 9:
        color = 8  # orange
    return (tile << 4) | color


@wp.func
def draw_tile(rng: wp.array(dtype=wp.uint32), env: int, kind: int, work: wp.array2d(dtype=wp.int32), n_used: int) -> int:
    """A uniform tile of ``kind`` not among the first ``n_used`` used tiles (``work[env, 0:n_used]``)."""
    count = int(60)
    if kind == KIND_LHS:
        count = 70
    elif kind == KIND_PROD:
        count = 61
    tile = int(0)
    for _try in range(100000):
        tile = kind_tile(kind, rand_int(rng, env, 0, count))
        clash = bool(False)
        for u in range(n_used):
            if work[env, u] == tile:
                clash = True
        if not clash:
            return tile
    return tile


@wp.func
def put_pair(out: wp.array3d(dtype=wp.uint8), env: int, row: int, col: int, tile: int):
    """Write a packed tile as its (tile, colour) ints at ``out[env, row, col:col+2]``."""
    out[env, row, col] = wp.uint8(tile >> 4)
    out[env, row, col + 1] = wp.uint8(tile & 15)


@wp.func
def add_init(init_tiles: wp.array3d(dtype=wp.uint8), env: int, n: int, tile: int) -> int:
    """Append an initial object (dropped beyond capacity, which the presets' capacities rule out)."""
    if n < init_tiles.shape[1]:
        put_pair(init_tiles, env, n, 0, tile)
    return n + 1


@wp.func
def rule_type(ri: int) -> int:
    """Rule id of upstream's list position: hold, near, near up/down/left/right, tile near, tile up/down/left/right."""
    rid = int(1)
    if ri == 1:
        rid = 2
    elif ri == 2:
        rid = 8
    elif ri == 3:
        rid = 10
    elif ri == 4:
        rid = 11
    elif ri == 5:
        rid = 9
    elif ri == 6:
        rid = 3
    elif ri == 7:
        rid = 4
    elif ri == 8:
        rid = 6
    elif ri == 9:
        rid = 7
    elif ri == 10:
        rid = 5
    return rid


@wp.func
def goal_type(gi: int) -> int:
    """Goal id of upstream's list position: hold, near, near up/down/left/right, tile near, tile up/down/left/right."""
    gid = int(1)
    if gi == 1:
        gid = 3
    elif gi == 2:
        gid = 11
    elif gi == 3:
        gid = 13
    elif gi == 4:
        gid = 14
    elif gi == 5:
        gid = 12
    elif gi == 6:
        gid = 4
    elif gi == 7:
        gid = 7
    elif gi == 8:
        gid = 9
    elif gi == 9:
        gid = 10
    elif gi == 10:
        gid = 8
    return gid


@wp.func
def draw_rule(rng: wp.array(dtype=wp.uint32), env: int, work: wp.array2d(dtype=wp.int32), n_used: int) -> wp.vec3i:
    """Upstream's ``sample_rule``: a uniform rule type and input tiles avoiding the used ones; (id, a, b)."""
    rid = rule_type(rand_int(rng, env, 0, 11))
    ta = int(0)
    tb = int(0)
    if rid == 3 or (rid >= 4 and rid <= 7):
        ta = draw_tile(rng, env, KIND_LHS, work, n_used)
        tb = draw_tile(rng, env, KIND_HOLD, work, n_used)
    else:
        ta = draw_tile(rng, env, KIND_HOLD, work, n_used)
    return wp.vec3i(rid, ta, tb)


@wp.func
def put_rule(rules: wp.array3d(dtype=wp.uint8), env: int, slot: int, rule: wp.vec3i, product: int):
    """Write rule ``(id, a, b)`` producing ``product`` into slot ``slot`` (dropped beyond capacity)."""
    if slot >= rules.shape[1]:
        return
    rules[env, slot, 0] = wp.uint8(rule[0])
    put_pair(rules, env, slot, 1, rule[1])
    if rule[2] != 0:
        put_pair(rules, env, slot, 3, rule[2])
        put_pair(rules, env, slot, 5, product)
    else:
        put_pair(rules, env, slot, 3, product)


@wp.func
def generate_row(p: GenParams, seed: wp.array(dtype=wp.int32), counter: wp.array(dtype=wp.int32),
                 rng: wp.array(dtype=wp.uint32), work: wp.array2d(dtype=wp.int32), goal: wp.array2d(dtype=wp.uint8),
                 rules: wp.array3d(dtype=wp.uint8), num_rules: wp.array(dtype=wp.int32),
                 init_tiles: wp.array3d(dtype=wp.uint8), rule_hidden: wp.array2d(dtype=wp.uint8), env: int):
    """Write the ruleset of row ``env``'s (seed, counter) into its level record.

    ``work[env]`` holds the used tiles ``[0, U)``, then two chain stacks of ``C`` entries each.
    """
    cap_r = rules.shape[1]
    u_cap = 2 + 2 * cap_r
    c_cap = (work.shape[1] - u_cap) // 2
    for k in range(5):
        goal[env, k] = wp.uint8(0)
    for r in range(cap_r):
        rule_hidden[env, r] = wp.uint8(0)
        for k in range(7):
            rules[env, r, k] = wp.uint8(0)
    for t in range(init_tiles.shape[1]):
        init_tiles[env, t, 0] = wp.uint8(0)
        init_tiles[env, t, 1] = wp.uint8(0)
    rng[env] = wp.rand_init(seed[env], counter[env])
    # ---- goal
    gid = goal_type(rand_int(rng, env, 0, 11))
    a = int(0)
    b = int(0)
    if gid == 1:
        a = draw_tile(rng, env, KIND_HOLD, work, 0)
    else:
        a = draw_tile(rng, env, KIND_LHS, work, 0)
        if gid == 4 or (gid >= 7 and gid <= 10):
            b = draw_tile(rng, env, KIND_HOLD, work, 0)
    goal[env, 0] = wp.uint8(gid)
    goal[env, 1] = wp.uint8(a >> 4)
    goal[env, 2] = wp.uint8(a & 15)
    goal[env, 3] = wp.uint8(b >> 4)
    goal[env, 4] = wp.uint8(b & 15)
    n_used = int(0)
    n_chain = int(0)
    cur = int(u_cap)  # offset of the current chain stack
    nxt = int(u_cap + c_cap)
    work[env, n_used] = a
    work[env, cur + n_chain] = a
    n_used += 1
    n_chain += 1
    if b != 0:
        work[env, n_used] = b
        work[env, cur + n_chain] = b
        n_used += 1
        n_chain += 1
    n_rules = int(0)
    n_tiles = int(0)
    levels = p.chain_depth
    if p.sample_depth == 1:
        levels = rand_int(rng, env, 0, p.chain_depth + 1)
    if levels == 0:
        for k in range(n_chain):
            n_tiles = add_init(init_tiles, env, n_tiles, work[env, cur + k])
    # ---- production chain, backwards from the goal
    for level in range(levels):
        n_next = int(0)
        while n_chain > 0:
            n_chain -= 1
            prod = work[env, cur + n_chain]
            pruned = bool(False)
            if p.prune_chain == 1:
                pruned = rand_unit(rng, env) < p.prune_prob
            if pruned:
                n_tiles = add_init(init_tiles, env, n_tiles, prod)
            else:
                rule = draw_rule(rng, env, work, n_used)
                put_rule(rules, env, n_rules, rule, prod)
                ta = rule[1]
                tb = rule[2]
                n_rules += 1
                work[env, n_used] = ta
                n_used += 1
                work[env, nxt + n_next] = ta
                n_next += 1
                if tb != 0:
                    work[env, n_used] = tb
                    n_used += 1
                    work[env, nxt + n_next] = tb
                    n_next += 1
                if level == levels - 1:
                    n_tiles = add_init(init_tiles, env, n_tiles, ta)
                    if tb != 0:
                        n_tiles = add_init(init_tiles, env, n_tiles, tb)
        swap = cur
        cur = nxt
        nxt = swap
        n_chain = n_next
    # ---- distractor objects (with replacement, among unused tiles), then dead-end rules
    for k in range(p.num_distractor_objects):
        n_tiles = add_init(init_tiles, env, n_tiles, draw_tile(rng, env, KIND_LHS, work, n_used))
    n_distract = p.num_distractor_rules
    if p.sample_distractor_rules == 1:
        n_distract = rand_int(rng, env, 0, p.num_distractor_rules + 1)
    for k in range(n_distract):
        prod = draw_tile(rng, env, KIND_PROD, work, n_used)
        rule = draw_rule(rng, env, work, 0)  # distractor inputs may reuse chain tiles (dead ends)
        put_rule(rules, env, n_rules, rule, prod)
        ta = rule[1]
        tb = rule[2]
        n_rules += 1
        n_tiles = add_init(init_tiles, env, n_tiles, ta)
        if tb != 0:
            n_tiles = add_init(init_tiles, env, n_tiles, tb)
    num_rules[env] = wp.min(n_rules, cap_r)
    # ---- hidden rules, on a stream of their own (the ruleset does not depend on hidden_prob)
    if p.hidden_prob > 0.0:
        rng[env] = wp.rand_init(seed[env] ^ HIDDEN_SALT, counter[env])
        for r in range(wp.min(n_rules, cap_r)):
            if rand_unit(rng, env) < p.hidden_prob:
                rule_hidden[env, r] = wp.uint8(1)


@wp.kernel
def generate(p: GenParams, draw: wp.array(dtype=wp.bool), seed: wp.array(dtype=wp.int32),
             counter: wp.array(dtype=wp.int32), rng: wp.array(dtype=wp.uint32), work: wp.array2d(dtype=wp.int32),
             goal: wp.array2d(dtype=wp.uint8), rules: wp.array3d(dtype=wp.uint8), num_rules: wp.array(dtype=wp.int32),
             init_tiles: wp.array3d(dtype=wp.uint8), rule_hidden: wp.array2d(dtype=wp.uint8)):
    """Write the ruleset of (seed, counter) into every row set in ``draw``."""
    env = wp.tid()
    if draw[env]:
        generate_row(p, seed, counter, rng, work, goal, rules, num_rules, init_tiles, rule_hidden, env)


@wp.func
def bank_row(p: GenParams, seed: wp.array(dtype=wp.int32), counter: wp.array(dtype=wp.int32),
             rng: wp.array(dtype=wp.uint32), bank_goal: wp.array2d(dtype=wp.uint8), bank_rules: wp.array3d(dtype=wp.uint8),
             bank_num: wp.array(dtype=wp.int32), bank_tiles: wp.array3d(dtype=wp.uint8), goal: wp.array2d(dtype=wp.uint8),
             rules: wp.array3d(dtype=wp.uint8), num_rules: wp.array(dtype=wp.int32),
             init_tiles: wp.array3d(dtype=wp.uint8), rule_hidden: wp.array2d(dtype=wp.uint8), env: int):
    """Copy the bank entry that row ``env``'s (seed, counter) draws uniformly into its level (hidden flags drawn too)."""
    rng[env] = wp.rand_init(seed[env], counter[env])
    k = rand_int(rng, env, 0, bank_goal.shape[0])
    for c in range(5):
        goal[env, c] = bank_goal[k, c]
    for r in range(rules.shape[1]):
        rule_hidden[env, r] = wp.uint8(0)
        for c in range(7):
            rules[env, r, c] = bank_rules[k, r, c]
    for t in range(init_tiles.shape[1]):
        init_tiles[env, t, 0] = bank_tiles[k, t, 0]
        init_tiles[env, t, 1] = bank_tiles[k, t, 1]
    num_rules[env] = bank_num[k]
    if p.hidden_prob > 0.0:
        rng[env] = wp.rand_init(seed[env] ^ HIDDEN_SALT, counter[env])
        for r in range(bank_num[k]):
            if rand_unit(rng, env) < p.hidden_prob:
                rule_hidden[env, r] = wp.uint8(1)


@wp.kernel
def draw_from_bank(p: GenParams, draw: wp.array(dtype=wp.bool), seed: wp.array(dtype=wp.int32),
                   counter: wp.array(dtype=wp.int32), rng: wp.array(dtype=wp.uint32),
                   # Bank in (shared by every row):
                   bank_goal: wp.array2d(dtype=wp.uint8), bank_rules: wp.array3d(dtype=wp.uint8),
                   bank_num: wp.array(dtype=wp.int32), bank_tiles: wp.array3d(dtype=wp.uint8),
                   # Levels out:
                   goal: wp.array2d(dtype=wp.uint8), rules: wp.array3d(dtype=wp.uint8), num_rules: wp.array(dtype=wp.int32),
                   init_tiles: wp.array3d(dtype=wp.uint8), rule_hidden: wp.array2d(dtype=wp.uint8)):
    """Copy the bank entry (seed, counter) draws uniformly into every row set in ``draw`` (hidden flags drawn too)."""
    env = wp.tid()
    if draw[env]:
        bank_row(p, seed, counter, rng, bank_goal, bank_rules, bank_num, bank_tiles, goal, rules, num_rules, init_tiles,
                 rule_hidden, env)


# ---------------------------------------------------------------------- host side
def gen_params(preset: GeneratorPreset, hidden_prob: float = 0.0) -> GenParams:
    """Kernel struct of a preset."""
    p = GenParams()
    p.chain_depth = preset.chain_depth
    p.num_distractor_rules = preset.num_distractor_rules
    p.num_distractor_objects = preset.num_distractor_objects
    p.sample_depth = int(preset.sample_depth)
    p.sample_distractor_rules = int(preset.sample_distractor_rules)
    p.prune_chain = int(preset.prune_chain)
    p.prune_prob = float(preset.prune_prob)
    p.hidden_prob = float(hidden_prob)
    return p


class LevelDraw:
    """Draws random levels on the device into rows of a level batch, named by (seed, counter) per row."""

    def __init__(self, rules_cap: int, device: torch.device | str = "cpu", hidden_prob: float = 0.0) -> None:
        init_warp()
        self.rules_cap = rules_cap
        self.device = torch.device(device)
        self.wp_device = warp_device(self.device)
        self.work_cols = 3 * (2 + 2 * rules_cap)  # generator scratch: used tiles, then two chain stacks
        self._scratch: dict[int, tuple] = {}
        self.hidden_prob = hidden_prob

    def _buffers(self, n: int) -> tuple:
        """Launcher, scratch tensors and their row views for batches of ``n`` (kept for the last size)."""
        if n not in self._scratch:
            launcher = RowLauncher(self.wp_device, n)
            rng = torch.zeros(n, dtype=torch.int32, device=self.device)
            work = torch.zeros(n, self.work_cols, dtype=torch.int32, device=self.device)
            draw = torch.zeros(n, dtype=torch.bool, device=self.device)
            views = (launcher.rows(rng, wp.uint32), launcher.rows(work), launcher.rows(draw, wp.bool))
            self._scratch = {n: (launcher, (rng, work, draw), views)}
        return self._scratch[n]

    def launcher_for(self, n: int) -> RowLauncher:
        """The launcher used for batches of ``n``."""
        return self._buffers(n)[0]

    def row_views(self, launcher: RowLauncher, levels: TensorDict, seed: torch.Tensor, counter: torch.Tensor) -> dict:
        """Warp row views of a level batch, seeds and counters (for :meth:`generate_into`)."""
        out = {k: launcher.rows(levels[k]) for k in ("goal", "rules", "num_rules", "init_tiles", "rule_hidden")}
        out["seed"], out["counter"] = launcher.rows(seed), launcher.rows(counter)
        return out

    def generate_into(self, levels: TensorDict, mask: torch.Tensor, seed: torch.Tensor, counter: torch.Tensor,
                      views: dict | None = None) -> None:
        """Overwrite the rows of ``levels`` ``[B]`` set in ``mask`` with the levels of (seed, counter) ``[B]``.

        ``views``: Warp row views of ``levels``' fields, ``seed`` and ``counter`` made once by the caller
        (an env's long-lived record, :meth:`row_views`); made here otherwise.
        """
        n = levels.batch_size[0]
        launcher, (_, _, draw), scratch = self._buffers(n)
        draw.copy_(mask)
        if views is None:
            views = self.row_views(launcher, levels, seed, counter)
        self._launch(launcher, scratch, views)

    def _launch(self, launcher: RowLauncher, scratch: tuple, views: dict) -> None:
        raise NotImplementedError

    def generate(self, empty: TensorDict, seed: int, counters: torch.Tensor | None = None) -> TensorDict:
        """Fill ``empty`` ``[n]`` with the levels of (``mix(seed)``, counter ``0..n-1`` or ``counters``)."""
        n = empty.batch_size[0]
        seeds = mix_seeds(seed, 1, self.device).expand(n).contiguous()
        if counters is None:
            counters = torch.arange(n, dtype=torch.int32, device=self.device)
        mask = torch.ones(n, dtype=torch.bool, device=self.device)
        self.generate_into(empty, mask, seeds, counters.to(self.device, torch.int32).contiguous())
        return empty


class RulesetGenerator(LevelDraw):
    """Draws rulesets of one preset with the generator kernel."""

    def __init__(self, preset: GeneratorPreset, rules_cap: int, device: torch.device | str = "cpu",
                 hidden_prob: float = 0.0) -> None:
        need_rules, _ = preset.capacity()
        if rules_cap < need_rules:
            raise ValueError(f"rule capacity {rules_cap} < {need_rules} that preset {preset} needs")
        super().__init__(rules_cap, device, hidden_prob)
        self.preset = preset
        self.params = gen_params(preset, hidden_prob)

    def _launch(self, launcher: RowLauncher, scratch: tuple, views: dict) -> None:
        rng_v, work_v, draw_v = scratch
        launcher.launch(generate, (), inputs=[self.params, draw_v, views["seed"], views["counter"], rng_v, work_v],
                        outputs=[views["goal"], views["rules"], views["num_rules"], views["init_tiles"],
                                 views["rule_hidden"]])


class RulesetBank(LevelDraw):
    """Draws rulesets uniformly from a bank of level records ``[B]`` (a ruleset file) held on the device."""

    def __init__(self, bank: TensorDict, device: torch.device | str = "cpu", hidden_prob: float = 0.0) -> None:
        super().__init__(bank["rules"].shape[1], device, hidden_prob)
        self.bank = bank.to(self.device).apply(lambda t: t.contiguous())
        self.params = gen_params(GeneratorPreset(), hidden_prob)
        self._bank_views = [wp.from_torch(self.bank[k]) for k in ("goal", "rules", "num_rules", "init_tiles")]

    def _launch(self, launcher: RowLauncher, scratch: tuple, views: dict) -> None:
        rng_v, _, draw_v = scratch
        launcher.launch(draw_from_bank, (), inputs=[self.params, draw_v, views["seed"], views["counter"], rng_v,
                                                    *self._bank_views],
                        outputs=[views["goal"], views["rules"], views["num_rules"], views["init_tiles"],
                                 views["rule_hidden"]])


def ruleset_keys(levels: TensorDict) -> np.ndarray:
    """One bytes key per level: goal ⊕ rules (upstream's uniqueness key; objects do not count)."""
    goal = levels["goal"].cpu().numpy().astype(np.uint8)
    rules = levels["rules"].cpu().numpy().astype(np.uint8).reshape(goal.shape[0], -1)
    flat = np.ascontiguousarray(np.concatenate([goal, rules], axis=1))
    return flat.view(np.dtype((np.void, flat.shape[1]))).reshape(-1)


def generate_benchmark(preset: GeneratorPreset, n: int, seed: int, empty: TensorDict,
                       device: torch.device | str = "cpu", max_rounds: int = 10_000) -> TensorDict:
    """``n`` distinct rulesets (by goal and rules) of ``preset``, like ``ruleset_generator.py`` with rejection.

    Candidates are drawn in batches from (seed, counter); a candidate is kept if no earlier one had its
    (goal, rules), which is upstream's sequential rejection in distribution. ``empty`` is a schema batch
    ``[n]`` of the wanted capacity (it is filled and returned).
    """
    gen = RulesetGenerator(preset, empty["rules"].shape[1], device)
    seen: set[bytes] = set()
    chosen: list[TensorDict] = []
    have, counter = 0, 0
    batch = max(1024, n)
    for _ in range(max_rounds):
        cand = gen.generate(empty[:1].expand(batch).clone() if batch != n else empty.clone(), seed,
                            torch.arange(counter, counter + batch, dtype=torch.int32))
        counter += batch
        keys = ruleset_keys(cand)
        keep = []
        for i, key in enumerate(keys.tolist()):
            if key not in seen:
                seen.add(key)
                keep.append(i)
                if have + len(keep) == n:
                    break
        if keep:
            chosen.append(cand[torch.tensor(keep)].cpu())
            have += len(keep)
        if have == n:
            break
    else:
        raise RuntimeError(f"only {have} distinct rulesets of {preset} after {counter} draws (wanted {n})")
    out = torch.cat(chosen)
    empty.update(out.to(empty.device))
    return empty


def chain_depths(levels: TensorDict) -> np.ndarray:
    """``[N]`` length of the longest production chain leading to each goal tile (0: the goal's tiles are placed)."""
    goal = levels["goal"].cpu().numpy().astype(np.int64)
    rules = levels["rules"].cpu().numpy().astype(np.int64)
    count = levels["num_rules"].cpu().numpy().reshape(-1)
    out = np.zeros(goal.shape[0], dtype=np.int64)
    for i in range(goal.shape[0]):
        produced: dict[int, list[int]] = {}
        for r in rules[i, :count[i]]:
            two = 3 <= r[0] <= 7
            prod = (r[5] << 4 | r[6]) if two else (r[3] << 4 | r[4])
            produced.setdefault(int(prod), []).append(int(r[1] << 4 | r[2]))
            if two:
                produced[int(prod)].append(int(r[3] << 4 | r[4]))

        def depth(tile: int, seen: frozenset) -> int:
            if tile not in produced or tile in seen:
                return 0
            return 1 + max(depth(t, seen | {tile}) for t in produced[tile])

        g = goal[i]
        tiles = [] if g[0] in (0, 6) else [int(g[1] << 4 | g[2])]
        if g[0] in (4, 7, 8, 9, 10):
            tiles.append(int(g[3] << 4 | g[4]))
        out[i] = max((depth(t, frozenset()) for t in tiles), default=0)
    return out


def ruleset_stats(levels: TensorDict) -> dict[str, object]:
    """Rules, objects and chain depth per ruleset (mean and histogram) and the goal-type histogram."""
    rules = levels["num_rules"].cpu().numpy().reshape(-1)
    tiles = (levels["init_tiles"].cpu().numpy() != 0).any(-1).sum(-1)
    depth = chain_depths(levels)
    goals = levels["goal"][:, 0].cpu().numpy()
    hist = lambda x, n: (np.bincount(x, minlength=n)[:n] / max(1, len(x))).round(4).tolist()  # noqa: E731
    return {"count": int(len(rules)), "rules_mean": float(rules.mean()), "tiles_mean": float(tiles.mean()),
            "depth_mean": float(depth.mean()), "rules_hist": hist(rules, 26), "tiles_hist": hist(tiles, 26),
            "depth_hist": hist(depth, 5), "goal_hist": hist(goals.astype(np.int64), 15)}
