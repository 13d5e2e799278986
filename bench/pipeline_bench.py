"""Benchmark: the end-to-end run's stage timings, and continued-pretraining throughput
under Ray Train vs the same Hugging Face Trainer in a plain process (same model, data,
arguments and steps), printed as a ratio measured side by side in one run.

    python bench/pipeline_bench.py                      # both parts (runs the sample pipeline)
    python bench/pipeline_bench.py --summary runs/runs/<id>/summary.json   # timings of an existing run
    python bench/pipeline_bench.py --skip-pipeline --steps 60             # throughput only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from nuri.local_run import RunResult  # noqa: E402 - after the repository is on sys.path


def stage_timings(summary_path: Path | None, root: Path) -> None:
    if summary_path is None:
        run_id = "bench-" + time.strftime("%H%M%S")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "nuri", "run", "--domain", "domains/welfare.yaml",
                               "--root", str(root), "--storage", str(root / "storage"), "--run-id", run_id],
                              cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"pipeline failed ({proc.returncode})")
        summary_path = root / "runs" / run_id / "summary.json"
        print(f"`nuri run` wall time, process start to exit: {wall:.1f} s")
    s = json.loads(Path(summary_path).read_text())
    print(f"\n== end-to-end stage timings (run {s['run_id']}, {s['status']}) ==")
    print(f"{'stage':<12}{'wall s':>8}{'share':>8}   notes")
    total = s["wall_s"]
    for stage in ("ingest", "prepare", "base_model", "pretrain", "sft", "reward", "ppo", "safety", "evaluate",
                  "service", "register", "selftest"):
        r = s["reports"].get(stage)
        if not r:
            continue
        m = r.get("metrics", {})
        note = ""
        if "ray_worker_start_s" in m:
            parts = {"worker-group start": m["ray_worker_start_s"], "setup": m.get("setup_seconds"),
                     "held-out eval": m.get("eval_seconds"), "training": m.get("train_seconds", 0)}
            known = sum(v for v in parts.values() if v is not None)
            parts["save, report, teardown"] = m.get("fit_s", known) - known
            parts["driver (connect, copy, plot)"] = r["wall_s"] - m.get("fit_s", r["wall_s"])
            note = ", ".join(f"{k} {v:.1f}" for k, v in parts.items() if v is not None)
        print(f"{stage:<12}{r['wall_s']:>8.1f}{r['wall_s'] / total:>8.1%}   {note}")
    print(f"{'total':<12}{total:>8.1f}")
    # The same accounting as the run's own summary line (nuri.local_run.RunResult).
    run = RunResult(**{f.name: s[f.name] for f in dataclasses.fields(RunResult)})
    print(f"platform overhead: Ray start {run.ray_start_s:.1f} s; KFP orchestration + component process start "
          f"{run.kfp_overhead_s:.1f} s; Ray Train worker-group starts {run.ray_worker_start_s:.1f} s (inside "
          f"stages); {run.overhead_s:.1f} s in all, {run.overhead_share:.1%} of the run")
    training = sum(s["reports"].get(k, {}).get("metrics", {}).get("train_seconds", 0) or 0
                   for k in ("pretrain", "sft", "reward", "ppo"))
    print(f"trainers' own training time (pretrain, SFT, reward, PPO): {training:.1f} s")


def throughput(steps: int, work: Path) -> None:
    """Ray Train vs plain process, continued pretraining."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, default_data_collator

    from nuri.config import load_domain_config
    from nuri.data.records import Document, read_jsonl
    from nuri.stages import base_model_stage, ingest_stage, prepare_stage
    from nuri.train.hf import common_training_args, scratch_dir
    from nuri.train.precision import resolve_precision
    from nuri.train.pretrain import pack, pretrain_loop
    from nuri.train.runtime import LocalRayCluster, run_stage

    config = load_domain_config(REPO / "domains" / "welfare.yaml")
    stage = config.stages.pretrain.model_copy(update={"max_steps": steps, "save_steps": 10 * steps})
    config = config.model_copy(update={
        "stages": config.stages.model_copy(update={"pretrain": stage}),
        "storage": config.storage.model_copy(update={"uri": str(work / "storage")})})
    cfg = config.to_json()
    ingest_stage(cfg, str(work / "raw"), str(work / "r1"))
    prepare_stage(cfg, str(work / "raw"), str(work / "data"), str(work / "r2"))
    base_model_stage(cfg, str(work / "data"), str(work / "base"), str(work / "r3"))
    precision = resolve_precision(config.runtime.precision, config.runtime.use_gpu)

    # Plain process: the same Trainer, arguments, data and model, no Ray.
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(work / "base")
    model = AutoModelForCausalLM.from_pretrained(work / "base", dtype=torch.float32)
    texts = [d.text for d in read_jsonl(work / "data" / "corpus_train.jsonl", Document)]
    train_ds = pack(tok, texts, stage.seq_len)
    args = TrainingArguments(**{**common_training_args(stage, config.runtime.seed, precision, scratch_dir(),
                                                       False), "save_strategy": "no"})
    out = Trainer(model=model, args=args, train_dataset=train_ds, data_collator=default_data_collator).train()
    plain_wall = time.perf_counter() - t0
    plain_tps = out.metrics["train_samples_per_second"] * stage.seq_len

    with LocalRayCluster() as ray_cluster:
        t0 = time.perf_counter()
        run = run_stage(pretrain_loop, {"config": cfg, "data_dir": str(work / "data"), "precision": precision,
                                        "model_dir": str(work / "base")}, config.runtime,
                        storage_uri=config.storage.uri, run_name="bench-pretrain", out_dir=work / "pt")
        ray_wall = time.perf_counter() - t0
    ray_tps = run.metrics["train_tokens_per_second"]
    print(f"\n== continued pretraining throughput: Ray Train vs plain process ({steps} steps, seq "
          f"{stage.seq_len}, batch {stage.batch_size}, {precision}, {config.runtime.num_workers} worker) ==")
    print(f"{'':<28}{'plain':>12}{'Ray Train':>12}{'ratio':>8}")
    print(f"{'training tokens/s':<28}{plain_tps:>12.0f}{ray_tps:>12.0f}{ray_tps / plain_tps:>8.2f}")
    print(f"{'stage wall s (incl. start)':<28}{plain_wall:>12.1f}{ray_wall:>12.1f}{ray_wall / plain_wall:>8.2f}")
    print(f"Ray start {ray_cluster.start_seconds:.1f} s (once per pipeline run); worker-group start "
          f"{run.worker_start_seconds:.1f} s; the Ray stage also evaluates before/after and checkpoints to storage")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--summary", type=Path, help="read stage timings from this summary.json instead of running")
    p.add_argument("--skip-pipeline", action="store_true")
    p.add_argument("--steps", type=int, default=60)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="nuri-bench-") as tmp:
        tmp = Path(tmp)
        if not args.skip_pipeline:
            stage_timings(args.summary, tmp / "pipeline")
        throughput(args.steps, tmp / "throughput")


if __name__ == "__main__":
    main()
