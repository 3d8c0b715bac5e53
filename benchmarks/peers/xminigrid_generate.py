"""Peer generator: XLand-MiniGrid's own ``scripts/ruleset_generator.py`` (not in the pip package) timed and saved.

Run with an interpreter that has ``xminigrid`` installed and point ``--script`` at upstream's
``scripts/ruleset_generator.py`` from a checkout of the xland-minigrid repository. Draws ``--count``
distinct rulesets with a preset's flags exactly as that script's ``__main__`` does (rejection of repeated
(goal, rules) encodings), writes them as an ``.npz`` in the shared layout and prints one JSON line with the
rate (rulesets/s).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import random
import time

import numpy as np

PRESETS = {
    "trivial": dict(chain_depth=0, num_distractor_rules=0, num_distractor_objects=3, sample_depth=False,
                    sample_distractor_rules=False, prune_chain=False, prune_prob=0.0),
    "small": dict(chain_depth=1, num_distractor_rules=2, num_distractor_objects=2, sample_depth=False,
                  sample_distractor_rules=True, prune_chain=True, prune_prob=0.3),
    "medium": dict(chain_depth=2, num_distractor_rules=3, num_distractor_objects=2, sample_depth=False,
                   sample_distractor_rules=True, prune_chain=True, prune_prob=0.1),
    "high": dict(chain_depth=3, num_distractor_rules=4, num_distractor_objects=1, sample_depth=False,
                 sample_distractor_rules=True, prune_chain=True, prune_prob=0.1),
}


def main() -> None:
    """Generate, time, save."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--script", required=True, help="path to upstream's scripts/ruleset_generator.py")
    parser.add_argument("--preset", choices=sorted(PRESETS), required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", required=True, help=".npz to write")
    args = parser.parse_args()
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_platform_name", "cpu")
    spec = importlib.util.spec_from_file_location("ruleset_generator", args.script)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    from xminigrid.core.grid import pad_along_axis

    random.seed(args.seed)
    seen, rulesets = set(), []
    t0 = time.perf_counter()
    while len(rulesets) < args.count:  # the script's loop: resample while the encoding was seen
        ruleset = gen.sample_ruleset(**PRESETS[args.preset])
        key = gen.encode(ruleset)
        if key in seen:
            continue
        seen.add(key)
        rulesets.append({"goal": ruleset["goal"].encode(), "rules": jnp.vstack([r.encode() for r in ruleset["rules"]]),
                         "init_tiles": jnp.array(ruleset["init_tiles"], dtype=jnp.uint8),
                         "num_rules": jnp.asarray(ruleset["num_rules"], dtype=jnp.uint8)})
    seconds = time.perf_counter() - t0
    max_rules = max(len(r["rules"]) for r in rulesets)
    max_tiles = max(len(r["init_tiles"]) for r in rulesets)
    np.savez(args.out, goals=np.asarray(jnp.vstack([r["goal"] for r in rulesets]), dtype=np.uint8),
             rules=np.asarray(jnp.stack([pad_along_axis(r["rules"], max_rules) for r in rulesets]), dtype=np.uint8),
             init_tiles=np.asarray(jnp.stack([pad_along_axis(r["init_tiles"], max_tiles) for r in rulesets]),
                                   dtype=np.uint8),
             num_rules=np.asarray([[r["num_rules"]] for r in rulesets], dtype=np.uint8))
    print(json.dumps({"peer": "xminigrid ruleset_generator.py", "preset": args.preset, "count": args.count,
                      "seconds": seconds, "rulesets_per_s": args.count / seconds}))


if __name__ == "__main__":
    main()
