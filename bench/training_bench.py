"""Benchmark: every training stage under Ray Train vs the very same loop in a plain
process (same model, data, trainer, arguments and steps: the stage's loop function runs
with NURI_PLAIN_OUT set, which swaps only Ray's report/resume for a local folder);
the fixed overhead per stage (Ray start, worker-group start); and resume after a
killed worker (steps lost, loss difference vs an uninterrupted run).

    python bench/training_bench.py                     # all stages, the sample domain's model
    python bench/training_bench.py --stages pretrain sft --steps 20
    python bench/training_bench.py --tiny              # CI-sized model (fast)
    python bench/training_bench.py --json out.json     # also write the figures

Throughput is measured over `trainer.train()` only, in both modes; a stage's wall time
adds the before/after evaluation and checkpoint upload. No GPU here: MFU is not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# Ray starts its workers at nice 15; on a shared machine that alone costs the Ray side
# up to half its throughput against any other busy process. Same priority on both sides.
os.environ.setdefault("RAY_worker_niceness", "0")

STAGES = ("pretrain", "sft", "reward", "ppo")


def _config(work: Path, steps: int, tiny: bool):
    import yaml

    from nuri.config import load_domain_config
    from nuri_testing import TINY_OVERRIDES, deep_merge, write_domain

    big = 10 * steps  # no checkpoint inside the measured steps (same in both modes)
    overrides = {
        "runtime": {"num_workers": 1, "precision": "auto", "max_failures": 1, "checkpoints_to_keep": 1},
        "stages": {"pretrain": {"max_steps": steps, "save_steps": big, "log_steps": 5},
                   "sft": {"max_steps": steps, "save_steps": big, "log_steps": 5},
                   "reward": {"max_steps": steps, "save_steps": big, "log_steps": 5},
                   "ppo": {"total_episodes": 16 * max(2, steps // 5), "batch_size": 16, "mini_batches": 2,
                           "ppo_epochs": 1}},
        "gates": {"pretrain": [], "sft": [], "reward": [], "ppo": [], "release": []},
    }
    if tiny:
        overrides = deep_merge(TINY_OVERRIDES, overrides)
    path = write_domain(work, overrides)
    raw = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return load_domain_config(path)


def _prepare(config, work: Path) -> dict:
    from nuri.stages import base_model_stage, ingest_stage, prepare_stage

    cfg = config.to_json()
    ingest_stage(cfg, str(work / "raw"), str(work / "r-ingest"))
    prepare_stage(cfg, str(work / "raw"), str(work / "data"), str(work / "r-prepare"))
    base_model_stage(cfg, str(work / "data"), str(work / "base"), str(work / "r-base"))
    return {"data": str(work / "data"), "base": str(work / "base")}


def _inputs(stage: str, work: Path) -> dict:
    base = str(work / "base")
    if stage == "ppo":
        return {"policy_dir": base, "reward_dir": str(work / "ray-reward")}
    return {"model_dir": base}


def _throughput(metrics: dict, stage: str) -> tuple[str, float]:
    if stage == "ppo":
        return "episodes/s", metrics["episodes_per_second"]
    if stage == "pretrain":
        return "tokens/s", metrics["train_tokens_per_second"]
    return "samples/s", metrics["train_samples_per_second"]


def steady_tokens_per_second(history: list[dict]) -> float | None:
    """Mean tokens/s over the second half of the logged steps. The whole-run figure of a
    short run is dominated by its first seconds, when a fresh Ray worker still shares the
    two cores with the helper processes Ray Train starts beside it (measured: a matmul
    4x slower in the first 2 s); a pipeline stage trains for minutes."""
    tps = [e["tokens_per_second"] for e in history if "tokens_per_second" in e]
    if len(tps) < 2:
        return None
    half = tps[len(tps) // 2:]
    return sum(half) / len(half)


def plain_run(loop, loop_config: dict, out: Path) -> dict:
    from nuri.train.runtime import HISTORY_FILE, METRICS_FILE
    from nuri.train.worker import PLAIN_OUT_ENV

    out.mkdir(parents=True, exist_ok=True)
    os.environ[PLAIN_OUT_ENV] = str(out)
    try:
        t0 = time.perf_counter()
        loop(loop_config)
        wall = time.perf_counter() - t0
    finally:
        os.environ.pop(PLAIN_OUT_ENV, None)
    metrics = json.loads((out / METRICS_FILE).read_text())
    metrics["wall_s"] = wall
    metrics["log_history"] = json.loads((out / HISTORY_FILE).read_text())
    return metrics


def bench(stages: list[str], steps: int, tiny: bool, work: Path) -> dict:
    from nuri.stages import _loop_for
    from nuri.train.precision import resolve_precision
    from nuri.train.runtime import LocalRayCluster, run_stage

    config = _config(work, steps, tiny)
    d = _prepare(config, work)
    cfg = config.to_json()
    precision = resolve_precision(config.runtime.precision, config.runtime.use_gpu)
    results: dict = {"steps": steps, "precision": precision, "tiny": tiny, "stages": {}}
    with LocalRayCluster() as ray_cluster:
        results["ray_start_s"] = ray_cluster.start_seconds
        for stage in STAGES:
            if stage not in stages and not (stage == "reward" and "ppo" in stages):
                continue
            loop = _loop_for(stage)
            loop_config = {"config": cfg, "stage": stage, "data_dir": d["data"], "precision": precision,
                           "num_workers": 1, **_inputs(stage, work)}
            t0 = time.perf_counter()
            ray = run_stage(loop, loop_config, config.runtime, storage_uri=config.storage.uri,
                            run_name=f"bench-{stage}-{int(time.time())}", out_dir=work / f"ray-{stage}")
            ray_wall = time.perf_counter() - t0
            plain = plain_run(loop, loop_config, work / f"plain-{stage}")
            unit, ray_tp = _throughput(ray.metrics, stage)
            _, plain_tp = _throughput(plain, stage)
            steady_plain, steady_ray = steady_tokens_per_second(plain["log_history"]), \
                steady_tokens_per_second(ray.log_history)
            results["stages"][stage] = {
                "unit": unit, "plain": plain_tp, "ray": ray_tp, "ratio": ray_tp / plain_tp,
                "steady_ratio": steady_ray / steady_plain if steady_plain and steady_ray else None,
                "plain_train_s": plain["train_seconds"], "ray_train_s": ray.metrics["train_seconds"],
                "plain_wall_s": plain["wall_s"], "ray_stage_wall_s": ray_wall,
                "worker_group_start_s": ray.worker_start_seconds,
                "ray_fixed_overhead_s": ray_wall - ray.metrics["train_seconds"] - (plain["wall_s"] - plain["train_seconds"]),
            }
            print(f"{stage}: plain {plain_tp:.1f} {unit}, Ray {ray_tp:.1f} {unit}, ratio {ray_tp / plain_tp:.2f}",
                  flush=True)
        if "pretrain" in stages:
            results["resume"] = resume_bench(config, d, precision, work)
    return results


def resume_bench(config, d: dict, precision: str, work: Path) -> dict:
    """Pretraining twice, the second time with a worker killed mid-way (between two
    checkpoints): steps recomputed, loss after resume vs the uninterrupted run."""
    from nuri.config import DomainConfig
    from nuri.stages import _loop_for
    from nuri.train.runtime import run_stage

    steps = config.stages.pretrain.max_steps
    save = max(2, steps // 4)
    fail_at = save + save // 2 + 1
    raw = config.model_dump()
    raw["stages"]["pretrain"].update(save_steps=save, log_steps=1)
    cfg = DomainConfig.model_validate(raw).to_json()
    base = {"config": cfg, "stage": "pretrain", "data_dir": d["data"], "precision": precision, "num_workers": 1,
            "model_dir": d["base"]}
    runs = {}
    for name, extra in (("uninterrupted", {}),
                        ("killed", {"inject_failure_at_step": fail_at, "failure_marker_dir": str(work)})):
        t0 = time.perf_counter()
        run = run_stage(_loop_for("pretrain"), {**base, **extra}, config.runtime, storage_uri=config.storage.uri,
                        run_name=f"bench-resume-{name}-{int(time.time())}", out_dir=work / f"resume-{name}")
        runs[name] = (run, time.perf_counter() - t0)
    ref = {e["step"]: e["loss"] for e in runs["uninterrupted"][0].log_history if "loss" in e}
    got = {e["step"]: e["loss"] for e in runs["killed"][0].log_history if "loss" in e}
    after = [s for s in ref if s > save and s in got]
    diffs = [abs(got[s] - ref[s]) for s in after]
    out = {
        "steps": steps, "checkpoint_every": save, "killed_at_step": fail_at,
        "last_checkpoint_step": (fail_at // save) * save,
        "steps_lost": fail_at - (fail_at // save) * save,
        "resumed": runs["killed"][0].metrics.get("resumed"),
        "max_abs_loss_diff_after_resume": max(diffs) if diffs else None,
        "final_eval_loss_diff": abs(runs["killed"][0].metrics["eval_loss"] - runs["uninterrupted"][0].metrics["eval_loss"]),
        "wall_uninterrupted_s": runs["uninterrupted"][1], "wall_killed_s": runs["killed"][1],
    }
    print(f"resume: killed at step {fail_at}, last checkpoint {out['last_checkpoint_step']}, "
          f"steps lost {out['steps_lost']}, max |loss diff| {out['max_abs_loss_diff_after_resume']}", flush=True)
    return out


def show(r: dict) -> None:
    print(f"\n== Ray Train vs plain process ({r['steps']} steps per stage, {r['precision']}, 1 worker, "
          f"{'tiny' if r['tiny'] else 'sample-domain'} model) ==")
    print(f"{'stage':<10}{'unit':>12}{'plain':>10}{'Ray':>10}{'ratio':>7}{'2nd half':>10}{'worker start s':>16}"
          f"{'fixed overhead s':>18}")
    for stage, s in r["stages"].items():
        steady = f"{s['steady_ratio']:.2f}" if s.get("steady_ratio") else "-"
        print(f"{stage:<10}{s['unit']:>12}{s['plain']:>10.1f}{s['ray']:>10.1f}{s['ratio']:>7.2f}{steady:>10}"
              f"{s['worker_group_start_s']:>16.1f}{s['ray_fixed_overhead_s']:>18.1f}")
    print("ratio: the trainer's own figure over the whole run; 2nd half: tokens/s over the second half of "
          "the logged steps (steady state, without the worker's first seconds)")
    print(f"Ray start (once per pipeline run): {r['ray_start_s']:.1f} s")
    if "resume" in r:
        x = r["resume"]
        print(f"resume: kill at step {x['killed_at_step']} (checkpoint every {x['checkpoint_every']}): "
              f"{x['steps_lost']} steps recomputed; max |loss diff| after resume {x['max_abs_loss_diff_after_resume']}; "
              f"final eval-loss diff {x['final_eval_loss_diff']:.2e}; wall {x['wall_uninterrupted_s']:.1f} s -> "
              f"{x['wall_killed_s']:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--tiny", action="store_true", help="CI-sized model instead of the sample domain's")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="nuri-tbench-") as tmp:
        r = bench(args.stages, args.steps, args.tiny, Path(tmp))
    show(r)
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
