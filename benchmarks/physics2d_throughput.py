"""physics2d branch of ``env_throughput.py``: env-steps/s per size (S/M/L) vs env count, with a Kinetix peer.

Random actions go through TorchRL's ``step_and_maybe_reset`` (masked auto-resets included). Both
sides reset into the same levels: Kinetix's bundled hand-designed levels of each size (found via
``--levels-dir``, ``$KINETIX_LEVELS_DIR``, an importable ``kinetix``, or the peer interpreter); without
them our side uses its generated bank and no ratio is claimed to be like for like. The peer is
``benchmarks/peers/kinetix_bench.py`` run by ``--peer-python`` / ``$ADA_KINETIX_PYTHON`` (or this
interpreter if ``kinetix`` is importable).

    python benchmarks/env_throughput.py --world physics2d --sizes s m l --envs 64 512 2048

Run directly, it compares the default physics with a baseline configuration in one process, the two
alternating per round (no peer):

    OMP_NUM_THREADS=1 python benchmarks/physics2d_throughput.py --baseline contact_model=box2d contact_order=sequential
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402


def kinetix_python(arg: str | None) -> str | None:
    """Interpreter that can run the Kinetix peer, or None."""
    if arg:
        return arg
    if os.environ.get("ADA_KINETIX_PYTHON"):
        return os.environ["ADA_KINETIX_PYTHON"]
    if importlib.util.find_spec("kinetix") is not None:
        return sys.executable
    return None


def levels_dir(arg: str | None, peer: str | None) -> Path | None:
    """Kinetix's bundled levels folder: given, found by our loader, or asked of the peer interpreter."""
    if arg:
        return Path(arg)
    from envs_warp.physics2d.kinetix_format import kinetix_levels_dir

    found = kinetix_levels_dir()
    if found is None and peer:
        proc = subprocess.run([peer, "-c", "from kinetix.util.saving import BASE_DIR; print(BASE_DIR)"],
                              capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
        path = Path(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 and proc.stdout.strip() else None
        found = path if path is not None and path.is_dir() else None
    return found


def bank_for(size: str, folder: Path | None):
    """The level bank: Kinetix's bundled levels of ``size`` (in that capacity) or None (generated bank)."""
    if folder is None:
        return None
    from envs_warp.physics2d.kinetix_format import load_kinetix_levels

    paths = sorted((folder / size).glob("*.json"))
    return load_kinetix_levels(paths, size) if paths else None


def action_sampler(env):
    """Uniform random actions of the env's action spec, vectorised (TorchRL's MultiCategorical.rand loops per entry)."""
    n, c, kind = env.num_envs, env.cap, env.cfg.action_type
    dev = env.device
    if kind == "multi_discrete":
        nvec = torch.tensor([3] * c.motor_channels + [2] * c.thruster_channels, device=dev)
        return lambda: (torch.rand(n, 1, nvec.numel(), device=dev) * nvec).long()
    if kind == "discrete":
        return lambda: torch.randint(env.cfg.num_actions, (n, 1), device=dev)
    low = torch.tensor([-1.0] * c.motor_channels + [0.0] * c.thruster_channels, device=dev)
    return lambda: low + (1 - low) * torch.rand(n, 1, low.numel(), device=dev)


def time_physics2d(size: str, num_envs: int, device: str, steps: int, action_type: str, bank, physics=None) -> dict:
    """Steps per second of one (size, env count) after a warm-up (``physics``: a ``Physics2DConfig``, default if None)."""
    from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig

    cfg = Physics2DEnvConfig(size=size, action_type=action_type, bank_size=4096 if bank is None else len(bank))
    if physics is not None:
        cfg.physics = physics
    env = Physics2DEnv(cfg, num_envs=num_envs, device=device, seed=0, bank=bank)
    sample = action_sampler(env)
    td = env.reset()
    for _ in range(max(20, steps // 5)):  # warm-up: first TorchRL calls build caches
        td.set(("agents", "action"), sample())
        _, td = env.step_and_maybe_reset(td)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        td.set(("agents", "action"), sample())
        _, td = env.step_and_maybe_reset(td)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    bank_bytes = sum(v.numel() * v.element_size() for v in env.bank.values())
    return {"world": "physics2d", "size": size, "device": device, "num_envs": num_envs, "num_agents": 1,
            "steps": steps, "action_type": action_type, "levels": "kinetix" if bank is not None else "generated",
            "env_steps_per_s": num_envs * steps / dt, "cpu_s_per_M_env_steps": cpu / (num_envs * steps) * 1e6,
            "state_bytes_per_env": env.state_bytes_per_env(),
            "bank_levels": env.bank.batch_size[0], "bank_bytes": bank_bytes,
            "threads": len(env.launcher.bounds)}


def run_peer(python: str, sizes: list[str], envs: list[int], steps: int) -> list[dict]:
    """Kinetix figures for the same sizes and env counts, from its own interpreter."""
    cmd = [python, str(HERE / "peers" / "kinetix_bench.py"), "--sizes", *sizes, "--envs", *map(str, envs),
           "--steps", str(steps), "--levels", "list"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if proc.returncode != 0:
        print(f"kinetix peer failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def run(args) -> list[dict]:
    """The physics2d table: one row per (size, env count), with the Kinetix ratio when a peer runs."""
    gpu = args.device.startswith("cuda")
    # Warp's row launcher owns the CPU cores; torch's intra-op threads on the env's small tensor ops
    # only add barrier waits (badly so when another process holds a core).
    torch_threads = getattr(args, "torch_threads", None) or 1
    torch.set_num_threads(torch_threads)
    envs = args.envs or ([64, 512, 2048, 8192, 32768] if gpu else [64, 512, 2048])
    sizes = args.sizes or ["s", "m", "l"]
    action_type = args.action_type or "multi_discrete"
    peer = None if args.no_peer else kinetix_python(args.peer_python)
    folder = levels_dir(getattr(args, "levels_dir", None), peer)
    peer_rows = {}
    if getattr(args, "peer_json", None):  # saved kinetix_bench.py output (JSON lines)
        lines = Path(args.peer_json).read_text().splitlines()
        peer_rows = {(r["size"], r["num_envs"]): r for r in map(json.loads, filter(None, lines))}
    elif peer and folder is not None:
        peer_rows = {(r["size"], r["num_envs"]): r for r in run_peer(peer, sizes, envs, args.peer_steps)}
    header = f"{'size':>4} {'dev':>5} {'envs':>6} {'env-steps/s':>12} {'B/env':>7} {'levels':>9}"
    if peer_rows:
        header += f" {'kinetix env-steps/s':>20} {'ratio':>7}"
    print(header)
    rows = []
    # a throwaway run first: the first configuration of a process runs ~2x slow otherwise
    time_physics2d(sizes[0], envs[0], args.device, 20, action_type, bank_for(sizes[0], folder))
    for size in sizes:
        bank = bank_for(size, folder)
        for n in envs:
            row = time_physics2d(size, n, args.device, args.steps, action_type, bank)
            line = (f"{size:>4} {args.device:>5} {n:>6} {row['env_steps_per_s']:>12,.0f} "
                    f"{row['state_bytes_per_env']:>7} {row['levels']:>9}")
            p = peer_rows.get((size, n))
            if p is not None:
                row["peer"] = p
                row["ratio_vs_peer"] = row["env_steps_per_s"] / p["env_steps_per_s"]
                line += f" {p['env_steps_per_s']:>20,.0f} {row['ratio_vs_peer']:>6.1f}x"
            print(line, flush=True)
            rows.append(row)
    out = args.out or str(HERE / "results" / "env_throughput_physics2d.json")
    write_results(out, rows, args.device, levels_dir=str(folder) if folder else None, torch_threads=torch_threads,
                  warp_cpu_threads=os.environ.get("ADA_WARP_CPU_THREADS"))
    return rows


def physics_config(pairs: list[str]):
    """A ``Physics2DConfig`` from ``KEY=VALUE`` strings (values parsed as int, float or kept as text)."""
    from envs_warp.physics2d.simulator import Physics2DConfig

    kw = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        for cast in (int, float, str):
            try:
                kw[key] = cast(value)
                break
            except ValueError:
                continue
    return Physics2DConfig(**kw)


def compare(args) -> list[dict]:
    """Default physics vs ``--baseline`` physics, alternating in one process: best and median env-steps/s,
    and the median CPU-seconds (all threads) per million env-steps, which moves less under other load."""
    torch.set_num_threads(1)
    folder = levels_dir(args.levels_dir, None)
    variants = {"default": None, "baseline": physics_config(args.baseline)}
    time_physics2d(args.sizes[0], args.envs[0], args.device, 20, "multi_discrete", bank_for(args.sizes[0], folder))
    rows = []
    print(f"baseline: {' '.join(args.baseline)}")
    print(f"{'size':>4} {'envs':>6} {'default best/median':>22} {'baseline best/median':>22} {'best ratio':>11}"
          f" {'CPU-s/M default':>16} {'baseline':>9} {'ratio':>6}")
    for size in args.sizes:
        bank = bank_for(size, folder)
        for n in args.envs:
            rates = {name: [] for name in variants}
            cpu = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, physics in variants.items():
                    row = time_physics2d(size, n, args.device, args.steps, "multi_discrete", bank, physics)
                    rates[name].append(row["env_steps_per_s"])
                    cpu[name].append(row["cpu_s_per_M_env_steps"])
            best = {k: max(v) for k, v in rates.items()}
            med = {k: sorted(v)[len(v) // 2] for k, v in rates.items()}
            cmed = {k: sorted(v)[len(v) // 2] for k, v in cpu.items()}
            print(f"{size:>4} {n:>6} {best['default']:>11,.0f}/{med['default']:>10,.0f} "
                  f"{best['baseline']:>11,.0f}/{med['baseline']:>10,.0f} {best['default'] / best['baseline']:>10.2f}x"
                  f" {cmed['default']:>16.1f} {cmed['baseline']:>9.1f} {cmed['default'] / cmed['baseline']:>5.2f}x",
                  flush=True)
            rows.append({"size": size, "num_envs": n, "steps": args.steps, "rounds": args.rounds,
                         "levels": "kinetix" if bank is not None else "generated", "rates": rates,
                         "cpu_s_per_M_env_steps": cpu})
    write_results(args.out, rows, args.device, baseline=args.baseline, torch_threads=1)
    return rows


def main() -> None:
    """Standalone: compare the default physics with a baseline configuration (``--baseline KEY=VALUE ...``)."""
    import argparse

    parser = argparse.ArgumentParser(description=compare.__doc__)
    parser.add_argument("--baseline", nargs="+", required=True, help="Physics2DConfig overrides, e.g. contact_model=box2d")
    parser.add_argument("--sizes", nargs="+", default=["s", "m", "l"])
    parser.add_argument("--envs", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--levels-dir", default=None)
    parser.add_argument("--out", default=str(HERE / "results" / "physics2d_throughput_compare.json"))
    compare(parser.parse_args())


if __name__ == "__main__":
    main()
