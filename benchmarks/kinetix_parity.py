"""Parity with Kinetix on its 74 bundled hand-designed levels under fixed action scripts.

For every level (each in its own size) and script both simulators run 256 steps and report the
outcome (success: green touched blue, death: green touched red, timeout) and the step at which it
happened, and the first ``--traj-steps`` steps of every body's position and rotation. Scripts
(multi-discrete actions, 4 motor channels then 2 thruster channels): ``noop``; ``motor`` (every motor
forward) and ``thruster`` (every thruster on); and every single channel: ``motor<c>+`` / ``motor<c>-``
(only motor channel c, forward / backward) and ``thruster<c>``. A script that drives nothing in a
level (no active motor / thruster on its channels) is the noop there and is left out of that level's
runs. Our side is ``Physics2DEnv``; the Kinetix side is ``benchmarks/peers/kinetix_replay.py`` run by
``--peer-python`` / ``$ADA_KINETIX_PYTHON`` (or read from ``--peer-json``, its saved output).

    python benchmarks/kinetix_parity.py --peer-python ~/peers/kinetix/bin/python

Prints, per script group and overall: outcome agreement; among runs that end (not a timeout) in
both, end-step agreement within 10 % of Kinetix's step (and within 0 / 5 / 20 steps); trajectory
agreement (median and 90th-percentile absolute error of joint angles [rad] and body positions [m]
at steps 5, 10 and 20). Writes per-run JSON.
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

MOTORS, THRUSTERS = 4, 2
STEP_TOLERANCES = (0, 5, 20)
TRAJ_CHECKPOINTS = (5, 10, 20)


def scripts() -> dict[str, list[int]]:
    """Every script name -> its multi-discrete action (the same table as the peer's)."""
    out = {"noop": [0] * 6, "motor": [1] * MOTORS + [0] * THRUSTERS, "thruster": [0] * MOTORS + [1] * THRUSTERS}
    for c in range(MOTORS):
        for sign, code in (("+", 1), ("-", 2)):
            a = [0] * 6
            a[c] = code
            out[f"motor{c}{sign}"] = a
    for c in range(THRUSTERS):
        a = [0] * 6
        a[MOTORS + c] = 1
        out[f"thruster{c}"] = a
    return out


SCRIPTS = scripts()


def group(script: str) -> str:
    """Report group of a script: noop, all-motors, all-thrusters, single motor, single thruster."""
    if script in ("noop", "motor", "thruster"):
        return script
    return "motor<c>±" if script.startswith("motor") else "thruster<c>"


def drives(levels, i: int, script: str) -> bool:
    """Whether ``script`` drives anything in level ``i`` (an active motor or thruster on its channels)."""
    act = SCRIPTS[script]
    motor = levels["joint_active"][i] & levels["joint_motor_on"][i] & ~levels["joint_fixed"][i]
    thr = levels["thruster_active"][i]
    used_m = {int(c) for c in levels["joint_channel"][i][motor]}
    used_t = {int(c) for c in levels["thruster_channel"][i][thr]}
    if script == "noop":
        return True
    return any(act[c] and c in used_m for c in range(MOTORS)) or any(act[MOTORS + c] and c in used_t
                                                                       for c in range(THRUSTERS))


def ours(folder: Path, sizes: list[str], names: list[str], traj_steps: int, physics=None) -> list[dict]:
    """Outcome, end step and early trajectory of every (level, script) in ``Physics2DEnv``."""
    from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig
    from envs_warp.physics2d.kinetix_format import load_kinetix_levels

    out = []
    for size in sizes:
        paths = sorted((folder / size).glob("*.json"))
        if not paths:
            continue
        levels = load_kinetix_levels(paths, size)
        cfg = Physics2DEnvConfig(size=size, action_type="multi_discrete")
        if physics is not None:
            cfg.physics = physics
        max_steps = cfg.max_steps
        n = len(paths)
        env = Physics2DEnv(cfg, num_envs=n, random_levels=False)
        env.set_levels(levels)
        joints = [[(int(levels["joint_a"][i, j]), int(levels["joint_b"][i, j]))
                   for j in range(levels["joint_a"].shape[1])
                   if bool(levels["joint_active"][i, j]) and not bool(levels["joint_fixed"][i, j])] for i in range(n)]
        dynamic = torch.cat([levels["poly_active"] & ~levels["poly_static"],
                             levels["circle_active"] & ~levels["circle_static"]], 1)  # [n, NB]
        for script in names:
            td = env.reset()
            action = torch.tensor(SCRIPTS[script]).expand(n, 1, 6).clone()
            end = torch.full((n,), max_steps, dtype=torch.int64)
            reward = torch.zeros(n)
            over = torch.zeros(n, dtype=torch.bool)
            nonfinite = torch.zeros(n, dtype=torch.bool)
            pos, rot = [], []
            for t in range(max_steps):
                td.set(("agents", "action"), action)
                td = env.step(td)["next"]
                if t < traj_steps:
                    pos.append(env.sim.body_pos.clone())
                    rot.append(env.sim.body_rot.clone())
                done = td["done"][:, 0] & ~over
                end[done] = t + 1
                reward[done] = td["agents", "reward"][done, 0, 0]
                if "sim_nonfinite" in td.keys():
                    nonfinite |= done & td["sim_nonfinite"][:, 0]
                over |= td["done"][:, 0]
                if bool(over.all()) and t + 1 >= traj_steps:
                    break
            pos_t, rot_t = torch.stack(pos, 1), torch.stack(rot, 1)  # [n, T, NB, 2], [n, T, NB]
            for i, p in enumerate(paths):
                if not drives(levels, i, script):
                    continue
                r = float(reward[i])
                outcome = "success" if r > 0.5 else ("death" if r < -0.5 else "timeout")
                if nonfinite[i]:
                    outcome = "nonfinite"
                out.append({"size": size, "level": f"{size}/{p.name}", "script": script, "outcome": outcome,
                            "step": int(end[i]), "reward": r, "pos": pos_t[i].tolist(), "rot": rot_t[i].tolist(),
                            "joints": joints[i], "dynamic": dynamic[i].nonzero()[:, 0].tolist()})
    return out


def peer(python: str, sizes: list[str], names: list[str], traj_steps: int) -> list[dict]:
    """The Kinetix side, from its own interpreter."""
    cmd = [python, str(HERE / "peers" / "kinetix_replay.py"), "--sizes", *sizes, "--scripts", *names,
           "--traj-steps", str(traj_steps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if proc.returncode != 0:
        raise RuntimeError(f"kinetix replay failed:\n{proc.stderr[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def trajectory_errors(row: dict) -> dict[int, tuple[list[float], list[float]]]:
    """Per checkpoint step: absolute joint-angle errors [rad] and body-position errors [m] of one run."""
    mine, theirs = row["ours"], row["kinetix"]
    if "rot" not in theirs:  # peer output saved without trajectories
        return {}
    last = min(mine["step"], theirs["step"], len(mine["rot"]), len(theirs["rot"]))
    out = {}
    for k in TRAJ_CHECKPOINTS:
        if k > last:
            continue
        ro, rk = mine["rot"][k - 1], theirs["rot"][k - 1]
        po, pk = mine["pos"][k - 1], theirs["pos"][k - 1]
        ang = [abs((ro[b] - ro[a]) - (rk[b] - rk[a])) for a, b in mine["joints"]]
        dist = [((po[i][0] - pk[i][0]) ** 2 + (po[i][1] - pk[i][1]) ** 2) ** 0.5 for i in mine["dynamic"]]
        out[k] = (ang, dist)
    return out


def quantile(values: list[float], q: float) -> float:
    """The q-quantile of ``values`` (nan when empty)."""
    if not values:
        return float("nan")
    return float(torch.tensor(values).quantile(q))


def agreement(rows: list[dict]) -> list[dict]:
    """Per script group (and overall): outcome, end-step and trajectory agreement."""
    table = []
    groups = ["noop", "motor", "thruster", "motor<c>±", "thruster<c>"]
    for name in [g for g in groups if any(group(r["script"]) == g for r in rows)] + ["all"]:
        sel = [r for r in rows if name == "all" or group(r["script"]) == name]
        same = [r for r in sel if r["ours"]["outcome"] == r["kinetix"]["outcome"]]
        ended = [r for r in sel if r["ours"]["outcome"] != "timeout" and r["kinetix"]["outcome"] != "timeout"]
        entry = {"group": name, "runs": len(sel), "outcome_agree": len(same), "ended_both": len(ended),
                 "step_within_10pct": sum(abs(r["ours"]["step"] - r["kinetix"]["step"]) <= 0.1 * r["kinetix"]["step"]
                                          for r in ended)}
        for tol in STEP_TOLERANCES:
            entry[f"step_within_{tol}"] = sum(abs(r["ours"]["step"] - r["kinetix"]["step"]) <= tol for r in ended)
        for k in TRAJ_CHECKPOINTS:
            ang, dist = [], []
            for r in sel:
                errs = trajectory_errors(r).get(k)
                if errs:
                    ang += errs[0]
                    dist += errs[1]
            entry[f"angle_err_med_{k}"], entry[f"angle_err_p90_{k}"] = quantile(ang, 0.5), quantile(ang, 0.9)
            entry[f"pos_err_med_{k}"], entry[f"pos_err_p90_{k}"] = quantile(dist, 0.5), quantile(dist, 0.9)
        for side in ("ours", "kinetix"):
            for o in ("success", "death", "timeout"):
                entry[f"{side}_{o}"] = sum(r[side]["outcome"] == o for r in sel)
        entry["ours_nonfinite"] = sum(r["ours"]["outcome"] == "nonfinite" for r in sel)
        table.append(entry)
    return table


def print_table(table: list[dict]) -> None:
    """The agreement table, one line per group."""
    print(f"{'group':>11} {'runs':>5} {'outcome=':>9} {'ended':>5} {'step±10%':>9} "
          + " ".join(f"{'±' + str(t):>4}" for t in STEP_TOLERANCES)
          + "  " + " ".join(f"{'ang@' + str(k) + ' med/p90':>15}" for k in TRAJ_CHECKPOINTS)
          + "  " + " ".join(f"{'pos@' + str(k) + ' med/p90':>15}" for k in TRAJ_CHECKPOINTS)
          + "   ours S/D/T    kinetix S/D/T")
    for e in table:
        pct = 100.0 * e["outcome_agree"] / max(e["runs"], 1)
        spct = 100.0 * e["step_within_10pct"] / max(e["ended_both"], 1)
        print(f"{e['group']:>11} {e['runs']:>5} {e['outcome_agree']:>4} {pct:3.0f}% {e['ended_both']:>5} "
              f"{e['step_within_10pct']:>4} {spct:3.0f}% "
              + " ".join(f"{e[f'step_within_{t}']:>4}" for t in STEP_TOLERANCES) + "  "
              + " ".join(f"{e[f'angle_err_med_{k}']:7.3f}/{e[f'angle_err_p90_{k}']:7.3f}" for k in TRAJ_CHECKPOINTS)
              + "  "
              + " ".join(f"{e[f'pos_err_med_{k}']:7.3f}/{e[f'pos_err_p90_{k}']:7.3f}" for k in TRAJ_CHECKPOINTS)
              + f"   {e['ours_success']:>3}/{e['ours_death']:>3}/{e['ours_timeout']:>3}"
              + f"   {e['kinetix_success']:>3}/{e['kinetix_death']:>3}/{e['kinetix_timeout']:>3}")


def compare(folder: Path, theirs: list[dict], sizes: list[str], names: list[str], traj_steps: int,
            physics=None) -> tuple[list[dict], list[dict]]:
    """Our runs joined with the peer's by (level, script), and the agreement table."""
    mine = ours(folder, sizes, names, traj_steps, physics)
    by_key = {(r["level"], r["script"]): r for r in theirs}
    rows = [{"level": m["level"], "script": m["script"], "ours": m, "kinetix": by_key[(m["level"], m["script"])]}
            for m in mine if (m["level"], m["script"]) in by_key]
    return rows, agreement(rows)


def main(argv: list[str] | None = None) -> None:
    """Run both sides, print the agreement table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels-dir", default=None, help="Kinetix's bundled levels folder")
    parser.add_argument("--sizes", nargs="+", default=["s", "m", "l"])
    parser.add_argument("--scripts", nargs="+", default=list(SCRIPTS))
    parser.add_argument("--traj-steps", type=int, default=max(TRAJ_CHECKPOINTS))
    parser.add_argument("--peer-python", default=os.environ.get("ADA_KINETIX_PYTHON"))
    parser.add_argument("--peer-json", default=None, help="saved kinetix_replay.py output (JSON lines)")
    parser.add_argument("--motor-model", default=None, help="override Physics2DConfig.motor_model")
    parser.add_argument("--contact-model", default=None, help="override Physics2DConfig.contact_model")
    parser.add_argument("--contact-order", default=None, help="override Physics2DConfig.contact_order")
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
        theirs = peer(args.peer_python, args.sizes, args.scripts, args.traj_steps)
    else:
        sys.exit("no Kinetix peer: pass --peer-python (an interpreter with kinetix-env) or --peer-json")
    physics = None
    overrides = {k: v for k, v in (("motor_model", args.motor_model), ("contact_model", args.contact_model),
                                   ("contact_order", args.contact_order)) if v}
    if overrides:
        from envs_warp.physics2d.simulator import Physics2DConfig

        physics = Physics2DConfig(**overrides)
    rows, table = compare(folder, theirs, args.sizes, args.scripts, args.traj_steps, physics)
    print_table(table)
    disagree = [r for r in rows if r["ours"]["outcome"] != r["kinetix"]["outcome"]]
    if disagree:
        print("outcome disagreements (level, script: ours@step vs kinetix@step):")
        for r in disagree:
            print(f"  {r['level']:<40} {r['script']:<10} {r['ours']['outcome']}@{r['ours']['step']} vs "
                  f"{r['kinetix']['outcome']}@{r['kinetix']['step']}")
    slim = [{"level": r["level"], "script": r["script"],
             "ours": {k: r["ours"][k] for k in ("outcome", "step", "reward")},
             "kinetix": {k: r["kinetix"][k] for k in ("outcome", "step", "reward")},
             "traj_errors": {str(k): [max(v[0], default=0.0), max(v[1], default=0.0)]
                             for k, v in trajectory_errors(r).items()}} for r in rows]
    write_results(args.out, slim, "cpu", table=table)


if __name__ == "__main__":
    main()
