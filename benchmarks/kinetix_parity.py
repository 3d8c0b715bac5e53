"""Parity with Kinetix on its 74 bundled hand-designed levels under fixed action scripts.

For every level (each in its own size) and script (``noop``, ``motor``: every motor channel
forward, ``thruster``: every thruster on) both simulators run 256 steps and report the outcome
(success: green touched blue, death: green touched red, timeout) and the step at which it happened.
Our side is ``Physics2DEnv``; the Kinetix side is ``benchmarks/peers/kinetix_replay.py`` run by
``--peer-python`` / ``$ADA_KINETIX_PYTHON`` (or read from ``--peer-json``, its saved output).

    python benchmarks/kinetix_parity.py --peer-python /work/peers/kinetix-venv/bin/python

Prints the agreement table (outcome agreement, and step agreement within 0 / 5 / 20 steps among
levels whose outcomes agree and are not timeouts) and writes per-level JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402

SCRIPTS = {
    "noop": [0, 0, 0, 0, 0, 0],
    "motor": [1, 1, 1, 1, 0, 0],
    "thruster": [0, 0, 0, 0, 1, 1],
}
STEP_TOLERANCES = (0, 5, 20)


def ours(folder: Path, sizes: list[str], scripts: list[str]) -> list[dict]:
    """Outcome and end step of every (level, script) in ``Physics2DEnv``."""
    from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig
    from envs_warp.physics2d.kinetix_format import load_kinetix_levels

    out = []
    for size in sizes:
        paths = sorted((folder / size).glob("*.json"))
        if not paths:
            continue
        levels = load_kinetix_levels(paths, size)
        cfg = Physics2DEnvConfig(size=size, action_type="multi_discrete")
        max_steps = cfg.max_steps
        for script in scripts:
            env = Physics2DEnv(cfg, num_envs=len(paths), random_levels=False)
            env.set_levels(levels)
            td = env.reset()
            action = torch.tensor(SCRIPTS[script]).expand(len(paths), 1, 6).clone()
            end = torch.full((len(paths),), max_steps, dtype=torch.int64)
            reward = torch.zeros(len(paths))
            over = torch.zeros(len(paths), dtype=torch.bool)
            for t in range(max_steps):
                td.set(("agents", "action"), action)
                td = env.step(td)["next"]
                done = td["done"][:, 0] & ~over
                end[done] = t + 1
                reward[done] = td["agents", "reward"][done, 0, 0]
                over |= td["done"][:, 0]
            for i, p in enumerate(paths):
                r = float(reward[i])
                outcome = "success" if r > 0.5 else ("death" if r < -0.5 else "timeout")
                out.append({"size": size, "level": f"{size}/{p.name}", "script": script, "outcome": outcome,
                            "step": int(end[i]), "reward": r})
    return out


def peer(python: str, sizes: list[str], scripts: list[str]) -> list[dict]:
    """The Kinetix side, from its own interpreter."""
    cmd = [python, str(HERE / "peers" / "kinetix_replay.py"), "--sizes", *sizes, "--scripts", *scripts]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if proc.returncode != 0:
        raise RuntimeError(f"kinetix replay failed:\n{proc.stderr[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def agreement(rows: list[dict]) -> list[dict]:
    """Per script (and overall): outcome agreement and step agreement within each tolerance."""
    table = []
    for script in sorted({r["script"] for r in rows}) + ["all"]:
        sel = [r for r in rows if script == "all" or r["script"] == script]
        same = [r for r in sel if r["ours"]["outcome"] == r["kinetix"]["outcome"]]
        timed = [r for r in same if r["ours"]["outcome"] != "timeout"]
        entry = {"script": script, "levels": len(sel), "outcome_agree": len(same), "decided_agree": len(timed)}
        for tol in STEP_TOLERANCES:
            entry[f"step_within_{tol}"] = sum(abs(r["ours"]["step"] - r["kinetix"]["step"]) <= tol for r in timed)
        counts = {}
        for side in ("ours", "kinetix"):
            for o in ("success", "death", "timeout"):
                counts[f"{side}_{o}"] = sum(r[side]["outcome"] == o for r in sel)
        entry.update(counts)
        table.append(entry)
    return table


def main(argv: list[str] | None = None) -> None:
    """Run both sides, print the agreement table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels-dir", default=None, help="Kinetix's bundled levels folder")
    parser.add_argument("--sizes", nargs="+", default=["s", "m", "l"])
    parser.add_argument("--scripts", nargs="+", default=list(SCRIPTS))
    parser.add_argument("--peer-python", default=os.environ.get("ADA_KINETIX_PYTHON"))
    parser.add_argument("--peer-json", default=None, help="saved kinetix_replay.py output (JSON lines)")
    parser.add_argument("--out", default=str(HERE / "results" / "kinetix_parity.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from physics2d_throughput import levels_dir

    folder = levels_dir(args.levels_dir, args.peer_python)
    if folder is None:
        sys.exit("no Kinetix levels: pass --levels-dir, set KINETIX_LEVELS_DIR, or give --peer-python")
    if args.peer_json:
        theirs = [json.loads(line) for line in Path(args.peer_json).read_text().splitlines() if line.startswith("{")]
    elif args.peer_python:
        theirs = peer(args.peer_python, args.sizes, args.scripts)
    else:
        sys.exit("no Kinetix peer: pass --peer-python (an interpreter with kinetix-env) or --peer-json")
    mine = ours(folder, args.sizes, args.scripts)
    by_key = {(r["level"], r["script"]): r for r in theirs}
    rows = [{"level": m["level"], "script": m["script"], "ours": m, "kinetix": by_key[(m["level"], m["script"])]}
            for m in mine if (m["level"], m["script"]) in by_key]
    table = agreement(rows)
    print(f"{'script':>9} {'levels':>6} {'outcome=':>8} {'decided=':>8} "
          + " ".join(f"{'step±' + str(t):>7}" for t in STEP_TOLERANCES)
          + "   ours S/D/T    kinetix S/D/T")
    for e in table:
        print(f"{e['script']:>9} {e['levels']:>6} {e['outcome_agree']:>8} {e['decided_agree']:>8} "
              + " ".join(f"{e[f'step_within_{t}']:>7}" for t in STEP_TOLERANCES)
              + f"   {e['ours_success']:>3}/{e['ours_death']:>3}/{e['ours_timeout']:>3}"
              + f"   {e['kinetix_success']:>3}/{e['kinetix_death']:>3}/{e['kinetix_timeout']:>3}")
    disagree = [r for r in rows if r["ours"]["outcome"] != r["kinetix"]["outcome"]]
    if disagree:
        print("outcome disagreements (level, script: ours@step vs kinetix@step):")
        for r in disagree:
            print(f"  {r['level']:<40} {r['script']:<8} {r['ours']['outcome']}@{r['ours']['step']} vs "
                  f"{r['kinetix']['outcome']}@{r['kinetix']['step']}")
    write_results(args.out, rows, "cpu", table=table)


if __name__ == "__main__":
    main()
