"""Multiple-choice tasks through EleutherAI's lm-evaluation-harness (lm_eval 0.4.13), on
local data only, with an in-memory model.

A task is a JSON or JSON-lines file and three lm-eval fields: the prompt text, the
choices and the right choice. Each of them is a record field name, or a Jinja template
over the record (as lm-eval's doc_to_text / doc_to_choice / doc_to_target); the choices
may also be a literal list. The project's knowledge file (KnowledgeRecord lines
{question, choices, answer}) needs none of them: knowledge_task(path).

An agency that has KMMLU, KoBEST or HAE-RAE as local JSON lists its tasks in a YAML
file (read_tasks; data_file relative to the YAML's folder):

    tasks:
      - name: kmmlu_law                  # letters, digits and _ only
        data_file: kmmlu/Law-test.jsonl  # question, A, B, C, D, answer (1-4)
        text: "{{question.strip()}}\\nA. {{A}}\\nB. {{B}}\\nC. {{C}}\\nD. {{D}}\\n정답:"
        choices: ["A", "B", "C", "D"]
        target: "{{answer - 1}}"
      - name: kobest_boolq
        data_file: kobest/boolq-test.jsonl   # paragraph, question, label (0/1)
        text: "{{paragraph}} 질문: {{question}} 답변:"
        choices: ["아니오", "예"]
        target: label
      - name: haerae_gk
        data_file: haerae/general_knowledge.json  # query, answer ("(A)"...): a choice's text
        text: query
        choices: ["(A)", "(B)", "(C)", "(D)", "(E)"]
        target: answer

(These follow lm-eval's own kmmlu / kobest / haerae task files, which read the hub;
only acc and acc_norm are computed here: KoBEST's macro-F1 goes through the
`evaluate` package, which downloads its metric code.)

run_harness writes one lm-eval task YAML per task (dataset_path: json, data_files: the
file) into a temporary folder, loads only that folder (not lm-eval's ~14,000 built-in
task files, which name hub datasets) and runs lm_eval.simple_evaluate on
lm_eval.models.huggingface.HFLM wrapped around the model. It stays offline: for the
call it sets Hugging Face's offline switches (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE and
the constants huggingface_hub and datasets read them into at import), turns off
datasets' download counter (a HEAD request to s3.amazonaws.com that `datasets` sends
for the json builder unless offline, measured here) and keeps the datasets cache in
the temporary folder. It leaves the caller's random seeds alone (simple_evaluate
reseeds Python, numpy and torch by default).

How lm-eval's numbers differ from scoring.choice_accuracy on the same items:
- prompt: choice_accuracy always puts the question in the model's chat template (after
  the system message) and the choice right after the assistant marker. lm-eval by
  default scores `text + " " + choice` with no chat template (as its KMMLU / KoBEST
  task files are run by default). With chat_template=True it applies the tokenizer's chat
  template (system message included) and drops the space: the prompt and every
  choice's token log-likelihoods are then the same as choice_accuracy's.
- normalisation: choice_accuracy takes the choice with the highest *mean*
  log-likelihood per token; lm-eval's `acc` the highest *sum* (longer choices lose),
  its `acc_norm` the highest sum per *character* of the choice. So even with the chat
  template the three accuracies differ, on the same log-likelihoods.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import yaml

from nuri.errors import DataError

_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Expected when a model object (not a hub name) is handed to HFLM; nothing to act on.
_EXPECTED_WARNINGS = ("`pretrained` model kwarg is not of type `str`",
                      "Passed an already-initialized model through `pretrained`")


@dataclass(frozen=True)
class LocalTask:
    """A multiple-choice task over a local JSON / JSON-lines file (see the module doc)."""
    name: str
    data_file: Path
    text: str = "question"
    choices: str | tuple[str, ...] = "choices"
    target: str = "answer"

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise DataError(f"task name {self.name!r}: use letters, digits and _ only")
        object.__setattr__(self, "data_file", Path(self.data_file))
        if not isinstance(self.choices, str):
            object.__setattr__(self, "choices", tuple(str(c) for c in self.choices))

    def lm_eval_config(self, cache_dir: Path) -> dict:
        return {
            "task": self.name,
            "dataset_path": "json",
            "dataset_kwargs": {"data_files": {"test": str(self.data_file.resolve())}, "cache_dir": str(cache_dir)},
            "test_split": "test",
            "output_type": "multiple_choice",
            "doc_to_text": self.text,
            "doc_to_choice": self.choices if isinstance(self.choices, str) else list(self.choices),
            "doc_to_target": self.target,
            "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True}
                            for m in ("acc", "acc_norm")],
        }


def knowledge_task(path: Path, name: str = "nuri_knowledge") -> LocalTask:
    """The project's knowledge items (KnowledgeRecord lines) as a task."""
    return LocalTask(name, Path(path))


def read_tasks(path: Path) -> list[LocalTask]:
    """The tasks of a YAML file (or of a folder's tasks.yaml): {tasks: [{name,
    data_file, text?, choices?, target?}]}, data_file relative to the YAML's folder."""
    path = Path(path)
    if path.is_dir():
        path = path / "tasks.yaml"
    if not path.is_file():
        raise DataError(f"{path}: no such task file")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = raw.get("tasks") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{path}: expected `tasks:` with a list of {{name, data_file, text, choices, target}}")
    tasks = []
    for i, e in enumerate(entries):
        unknown = set(e) - {"name", "data_file", "text", "choices", "target"} if isinstance(e, dict) else {"?"}
        if unknown or "name" not in e or "data_file" not in e:
            raise DataError(f"{path}: task {i + 1} needs name and data_file and takes only text, choices, target"
                            + (f" (unknown: {', '.join(sorted(map(str, unknown)))})" if unknown else ""))
        tasks.append(LocalTask(**{**e, "data_file": path.parent / e["data_file"]}))
    return tasks


def _records(path: Path) -> list[dict]:
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: neither a JSON list nor JSON lines ({e})") from None
    if not rows or not all(isinstance(r, dict) for r in rows):
        raise DataError(f"{path}: expected one or more JSON records")
    return rows


def _check(task: LocalTask) -> int:
    """Fails in one line where lm-eval would not: a field name that is not in the data
    is taken by lm-eval as a constant template, and every item would get the same
    prompt. Returns the number of records."""
    rows = _records(task.data_file)
    named = [f for f in (task.text, task.choices, task.target) if isinstance(f, str) and _FIELD.match(f)]
    for i, row in enumerate(rows):
        missing = [f for f in named if f not in row]
        if missing:
            raise DataError(f"{task.data_file}: record {i + 1} has no field {', '.join(missing)} "
                            f"(task {task.name}; fields are {', '.join(sorted(row))})")
    return len(rows)


def _number(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):  # lm-eval writes "N/A" where it has no value
        return float("nan")


class _DropExpected(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_EXPECTED_WARNINGS)


@contextlib.contextmanager
def offline(cache_dir: Path) -> Iterator[None]:
    """Hugging Face hub and datasets offline, datasets' cache in cache_dir, for the
    duration; everything is put back afterwards."""
    import datasets
    import datasets.config as dcfg
    import huggingface_hub.constants as hub

    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_UPDATE_DOWNLOAD_COUNTS": "0",
           "HF_DATASETS_CACHE": str(cache_dir)}
    consts = [(hub, "HF_HUB_OFFLINE", True), (dcfg, "HF_HUB_OFFLINE", True), (dcfg, "HF_DATASETS_OFFLINE", True),
              (dcfg, "HF_UPDATE_DOWNLOAD_COUNTS", False), (dcfg, "HF_DATASETS_CACHE", Path(cache_dir))]
    saved_env = {k: os.environ.get(k) for k in env}
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in consts if hasattr(mod, name)]
    bars = datasets.is_progress_bar_enabled()
    hf_logger = logging.getLogger("lm_eval.models.huggingface")
    drop = _DropExpected()
    os.environ.update(env)
    for mod, name, value in consts:
        setattr(mod, name, value)
    datasets.disable_progress_bars()
    hf_logger.addFilter(drop)
    try:
        yield
    finally:
        hf_logger.removeFilter(drop)
        if bars:
            datasets.enable_progress_bars()
        for mod, name, value in saved:
            setattr(mod, name, value)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_harness(model, tokenizer, tasks: Sequence[LocalTask], *, batch_size: int = 16, chat_template: bool = False,
                system: str = "", limit: int | None = None, with_loglikelihoods: bool = False) -> dict[str, dict]:
    """lm-eval's acc and acc_norm (with their standard errors) of the model on each
    task: {task name: {acc, acc_stderr, acc_norm, acc_norm_stderr, items}} (a standard
    error lm-eval cannot give, as for one item, is nan),
    plus "loglikelihoods" (per item, each choice's summed log-likelihood, in file
    order) with with_loglikelihoods. chat_template: format prompts with the
    tokenizer's chat template and the system message (see the module doc); limit:
    the first items of each task only."""
    if not tasks:
        raise ValueError("no tasks to run")
    if len({t.name for t in tasks}) != len(tasks):
        raise DataError("task names must be unique")
    for task in tasks:
        _check(task)
    with tempfile.TemporaryDirectory(prefix="nuri-lm-eval-") as tmp, offline(Path(tmp) / "datasets"):
        import lm_eval
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager

        folder = Path(tmp) / "tasks"
        folder.mkdir()
        for task in tasks:
            (folder / f"{task.name}.yaml").write_text(
                yaml.safe_dump(task.lm_eval_config(Path(tmp) / "datasets"), allow_unicode=True, sort_keys=False),
                encoding="utf-8")
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
        out = lm_eval.simple_evaluate(
            model=lm, tasks=[t.name for t in tasks],
            task_manager=TaskManager(include_path=str(folder), include_defaults=False),
            limit=limit, apply_chat_template=chat_template, system_instruction=system or None,
            log_samples=with_loglikelihoods, random_seed=None, numpy_random_seed=None, torch_random_seed=None)
    results = {}
    for task in tasks:
        r = out["results"][task.name]
        results[task.name] = {k: _number(r.get(f"{k},none"))
                              for k in ("acc", "acc_stderr", "acc_norm", "acc_norm_stderr")}
        results[task.name]["items"] = int(out["n-samples"][task.name]["effective"])
        if with_loglikelihoods:
            samples = sorted(out["samples"][task.name], key=lambda s: s["doc_id"])
            results[task.name]["loglikelihoods"] = [[float(ll) for ll, _ in s["filtered_resps"]] for s in samples]
    return results
