"""Critic-free RL from the same library: TRL's GRPOTrainer or RLOOTrainer
(`stages.ppo.algorithm: grpo | rloo`). The SFT model is the policy (and, with
`kl_coef > 0`, its frozen copy the KL reference), the reward model scores each sample;
no value model. Several samples per prompt (`num_generations`) give the baseline that
PPO's critic would: the group mean (GRPO) or the leave-one-out mean (RLOO).

Same inputs, outputs and stop criteria as PPO (`kl_budget`, the episode budget), same
report metrics (reward_first/last/gain, kl), so gates and evaluation do not change.
Runs inside a Ray Train worker."""

from __future__ import annotations

import time
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.records import SftRecord, read_jsonl
from nuri.train.metrics import series


def critic_free_loop(cfg: dict) -> None:
    started = time.time()
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from nuri.train.hf import scratch_dir
    from nuri.evaluation.scoring import paired_reward_gain
    from nuri.train.ppo import gain_prompts, kl_budget_callback
    from nuri.train.precision import trained_precision, trainer_precision_args
    from nuri.train.stopping import StopRecorder
    from nuri.train.worker import report_final

    config = DomainConfig.from_json(cfg["config"])
    stage = config.stages.ppo
    world = int(cfg.get("num_workers", 1))
    if stage.algorithm == "grpo":
        from trl import GRPOConfig as RLConfig, GRPOTrainer as RLTrainer
    else:
        from trl import RLOOConfig as RLConfig, RLOOTrainer as RLTrainer

    tokenizer = AutoTokenizer.from_pretrained(cfg["policy_dir"])
    tokenizer.padding_side = "left"
    policy = AutoModelForCausalLM.from_pretrained(cfg["policy_dir"], dtype=torch.float32)
    reward = AutoModelForSequenceClassification.from_pretrained(cfg["reward_dir"], num_labels=1,
                                                                dtype=torch.float32)
    reward.config.pad_token_id = tokenizer.pad_token_id
    system = [{"role": "system", "content": config.serving.system_prompt}] if config.serving.system_prompt else []
    prompts = sorted({r.prompt for r in read_jsonl(Path(cfg["data_dir"]) / "sft_train.jsonl", SftRecord)})
    train_ds = Dataset.from_list([{"prompt": system + [{"role": "user", "content": p}]} for p in prompts])

    # batch_size samples per iteration = batch_size / num_generations prompts.
    per_device = max(stage.num_generations, stage.batch_size // world // stage.num_generations * stage.num_generations)
    steps = max(1, stage.total_episodes // (per_device * world))
    args = RLConfig(
        output_dir=scratch_dir(), per_device_train_batch_size=per_device, gradient_accumulation_steps=1,
        num_generations=stage.num_generations, max_completion_length=stage.response_length,
        temperature=stage.temperature, learning_rate=stage.learning_rate, beta=stage.kl_coef,
        num_iterations=stage.ppo_epochs, max_steps=steps, logging_steps=1, save_strategy="no", report_to=[],
        seed=config.runtime.seed, gradient_checkpointing=False, use_cpu=not config.runtime.use_gpu,
        disable_tqdm=True, ddp_find_unused_parameters=False,
        **trainer_precision_args(cfg["precision"], config.runtime.use_gpu))
    recorder = StopRecorder()
    trainer = RLTrainer(model=policy, reward_funcs=reward, args=args, train_dataset=train_ds,
                        processing_class=tokenizer, reward_processing_classes=tokenizer,
                        callbacks=[kl_budget_callback(stage.kl_budget, recorder, raise_on_step_end=False)])
    t0 = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - t0
    history = trainer.state.log_history
    scores = [v for _, v in series(history, "reward")]
    kls = [v for _, v in series(history, "kl")]
    quarter = max(1, len(scores) // 4)
    episodes = trainer.state.global_step * per_device * world
    metrics = {
        "iterations": trainer.state.global_step,
        "episodes": episodes,
        "reward_first": sum(scores[:quarter]) / quarter if scores else float("nan"),
        "reward_last": sum(scores[-quarter:]) / quarter if scores else float("nan"),
        # Not logged (kl_coef 0: TRL computes no KL) means not measured: NaN, which fails
        # any KL gate, rather than a 0.0 that would pass every one.
        "kl": kls[-1] if kls else float("nan"),
        "train_seconds": train_seconds,
        "episodes_per_second": episodes / train_seconds if train_seconds else float("nan"),
        "prompts": len(train_ds),
        "precision": trained_precision(args),
    }
    reference = AutoModelForCausalLM.from_pretrained(cfg["policy_dir"], dtype=torch.float32)
    metrics.update(paired_reward_gain(trainer.model, reference, reward, tokenizer, gain_prompts(prompts),
                                      config.serving.system_prompt, stage.response_length,
                                      config.stages.reward.max_length))
    metrics.update(recorder.final(trainer.state.global_step, steps))

    def save(dest: Path) -> None:
        trainer.model.save_pretrained(dest)
        tokenizer.padding_side = "right"
        tokenizer.save_pretrained(dest)

    report_final(save, metrics, history, started)
