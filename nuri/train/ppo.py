"""PPO against the reward model (InstructGPT step 3): the policy starts from SFT, a
frozen copy of SFT is the KL reference, the value model starts from the reward model.

TRL's maintained line dropped PPOTrainer in 1.13 (huggingface/trl#7020). We pin
trl==1.12.0 and use `trl.experimental.ppo.PPOTrainer` rather than writing PPO ourselves:
it is the reference implementation of the "N implementation details of RLHF with PPO"
(per-token KL penalty in the reward, GAE, clipped policy and value losses, EOS
truncation), tested upstream. TRL's GRPO/RLOO (critic-free, still maintained) are one
config line away (`stages.ppo.algorithm: grpo|rloo`, nuri.train.critic_free); PPO
stays the default, as the recipe asks.
PPOTrainer has no resume-from-checkpoint: after a worker failure Ray restarts this
stage from its inputs (it is the shortest stage).

Against reward hacking (a policy that pleases the reward model, not the user) the
settings that matter are the library's own: `kl_coef` with `kl_estimator: k3` (the KL
penalty to the frozen SFT reference), `whiten_rewards` (the penalty's weight does not
depend on the reward model's score scale) and a small `learning_rate`; the sample
domain's YAML records what each prevented. The stage's `reward_gain` compares the
policy with SFT on the same training prompts, since batch means move with their prompts."""

from __future__ import annotations

import json
import time
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.records import SftRecord, read_jsonl
from nuri.train.metrics import series


# Training prompts the policy and its SFT start answer again after RL, for the stage's
# reward_gain: a fixed, spread-out sample, the same for every run of the stage.
GAIN_PROMPTS = 64


def gain_prompts(prompts: list[str]) -> list[str]:
    """Up to GAIN_PROMPTS distinct prompts, evenly spaced over their sorted order (sorted,
    so the sample does not depend on the file's order; spaced, so it is not the prompts
    that happen to share their first words)."""
    s = sorted(set(prompts))
    n = min(len(s), GAIN_PROMPTS)
    return [s[i * len(s) // n] for i in range(n)]


def prompt_dataset(tokenizer, prompts: list[str], system: str, max_prompt_length: int):
    from datasets import Dataset

    from nuri.evaluation.scoring import chat_text

    rows = []
    for p in prompts:
        ids = tokenizer(chat_text(tokenizer, p, None, system), add_special_tokens=False)["input_ids"]
        if len(ids) <= max_prompt_length:
            rows.append({"input_ids": ids})
    return Dataset.from_list(rows)


class _KlBudgetExceeded(Exception):
    pass


def kl_budget_callback(budget: float | None, recorder, *, raise_on_step_end: bool):
    """Stops RL once the logged KL (PPO: objective/kl; GRPO/RLOO: kl) exceeds the budget.
    TRL's PPOTrainer loop ignores should_training_stop, so there the callback raises at
    the end of the step, and the loop saves the policy as it is. The KL is averaged over
    workers before it is logged, so every worker stops at the same step."""
    from transformers import TrainerCallback

    from nuri.train.stopping import over_budget

    class KlBudget(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            kl = logs.get("objective/kl", logs.get("kl"))
            if over_budget(kl, budget):
                recorder.fire("kl_budget", state.global_step, f"kl {kl:.3f} > budget {budget:g}")
                control.should_training_stop = True
            return control

        def on_step_end(self, args, state, control, **kwargs):
            if raise_on_step_end and recorder.reason == "kl_budget":
                raise _KlBudgetExceeded()

    return KlBudget()


def ppo_loop(cfg: dict) -> None:
    config = DomainConfig.from_json(cfg["config"])
    if config.stages.ppo.algorithm != "ppo":
        from nuri.train.critic_free import critic_free_loop

        return critic_free_loop(cfg)
    started = time.time()
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, set_seed
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    from nuri.evaluation.scoring import paired_reward_gain
    from nuri.train.hf import scratch_dir
    from nuri.train.precision import trained_precision, trainer_precision_args
    from nuri.train.worker import report_final

    config = DomainConfig.from_json(cfg["config"])
    stage = config.stages.ppo
    data = Path(cfg["data_dir"])
    world = int(cfg.get("num_workers", 1))
    tokenizer = AutoTokenizer.from_pretrained(cfg["policy_dir"])
    tokenizer.padding_side = "left"
    policy = AutoModelForCausalLM.from_pretrained(cfg["policy_dir"], dtype=torch.float32)
    reference = AutoModelForCausalLM.from_pretrained(cfg["policy_dir"], dtype=torch.float32)
    reward = AutoModelForSequenceClassification.from_pretrained(cfg["reward_dir"], num_labels=1,
                                                                dtype=torch.float32)
    value = AutoModelForSequenceClassification.from_pretrained(cfg["reward_dir"], num_labels=1,
                                                               dtype=torch.float32)
    for m in (reward, value):
        m.config.pad_token_id = tokenizer.pad_token_id

    # Prompts the policy answers: the SFT prompts (answers are not used: the reward
    # model judges the policy's own samples).
    prompts = sorted({r.prompt for r in read_jsonl(data / "sft_train.jsonl", SftRecord)})
    train_ds = prompt_dataset(tokenizer, prompts, config.serving.system_prompt, stage.max_prompt_length)
    per_device = max(1, stage.batch_size // stage.mini_batches // world) * stage.mini_batches
    args = PPOConfig(
        output_dir=scratch_dir(), per_device_train_batch_size=per_device, gradient_accumulation_steps=1,
        num_mini_batches=stage.mini_batches, num_ppo_epochs=stage.ppo_epochs,
        total_episodes=stage.total_episodes, learning_rate=stage.learning_rate, kl_coef=stage.kl_coef,
        kl_estimator=stage.kl_estimator, whiten_rewards=stage.whiten_rewards,
        missing_eos_penalty=stage.missing_eos_penalty,
        response_length=stage.response_length, temperature=stage.temperature, stop_token="eos",
        local_rollout_forward_batch_size=per_device, num_sample_generations=0, report_to=[],
        logging_steps=1, save_strategy="no", seed=config.runtime.seed, gradient_checkpointing=False,
        use_cpu=not config.runtime.use_gpu, disable_tqdm=True, dataset_num_proc=None,
        **trainer_precision_args(cfg["precision"], config.runtime.use_gpu))
    from nuri.train.stopping import StopRecorder

    # PPOTrainer seeds torch only, yet shuffles each iteration's mini-batches with the
    # global NumPy generator (np.random.permutation); unseeded, two runs of the same
    # seed diverged after the first update. set_seed covers random, NumPy and torch.
    set_seed(config.runtime.seed)
    recorder = StopRecorder()
    trainer = PPOTrainer(args=args, processing_class=tokenizer, model=policy, ref_model=reference,
                         reward_model=reward, train_dataset=train_ds, value_model=value,
                         callbacks=[kl_budget_callback(stage.kl_budget, recorder, raise_on_step_end=True)])
    setup_seconds = time.time() - started
    t0 = time.perf_counter()
    try:
        trainer.train()
    except _KlBudgetExceeded:
        pass
    train_seconds = time.perf_counter() - t0
    history = trainer.state.log_history
    scores = [v for _, v in series(history, "objective/scores")]
    kls = [v for _, v in series(history, "objective/kl")]
    quarter = max(1, len(scores) // 4)
    metrics = {
        "iterations": len(scores),
        "episodes": trainer.state.episode,
        "reward_first": sum(scores[:quarter]) / quarter if scores else float("nan"),
        "reward_last": sum(scores[-quarter:]) / quarter if scores else float("nan"),
        "kl": kls[-1] if kls else float("nan"),
        "train_seconds": train_seconds,
        "episodes_per_second": trainer.state.episode / train_seconds if train_seconds else float("nan"),
        "prompts": len(train_ds),
        "precision": trained_precision(args),
    }
    t_eval = time.perf_counter()
    metrics.update(paired_reward_gain(trainer.policy_model, reference, reward, tokenizer, gain_prompts(prompts),
                                      config.serving.system_prompt, stage.response_length,
                                      config.stages.reward.max_length))
    metrics.update(setup_seconds=setup_seconds, eval_seconds=time.perf_counter() - t_eval)
    metrics.update(recorder.final(len(scores), args.num_total_batches))

    def save(dest: Path) -> None:
        trainer.policy_model.save_pretrained(dest)
        tokenizer.padding_side = "right"
        tokenizer.save_pretrained(dest)
        (dest / "ppo_args.json").write_text(json.dumps({"kl_coef": stage.kl_coef,
                                                        "total_episodes": stage.total_episodes}))

    report_final(save, metrics, history, started)
