"""Readable progress for a local run. KFP's local runner echoes each component's whole
executor input (the domain config included) and every log line; all of it goes to the
run's log file, and only progress lines reach the terminal."""

from __future__ import annotations

import io
import re
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROGRESS = re.compile(
    r"Executing task|finished with status|Pipeline .* finished"   # KFP orchestration
    r"|^\[KFP Executor [^\]]*\]: "                                 # our stage loggers, in tasks
    r"|\{'loss': |\{'eval_loss': |'objective/scores'"             # trainer progress lines
    r"|Traceback|Error:|GateFailed|nuri: warning: ")
_NOISE = re.compile(r"Looking for component|Loading KFP component|Got executor_input|Wrote executor output")


class _Tee(io.TextIOBase):
    def __init__(self, log, terminal):
        self.log, self.terminal, self.buf, self.last = log, terminal, "", ""

    def write(self, s: str) -> int:
        self.log.write(s)
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            clean = _ANSI.sub("", line).strip()
            if clean and _PROGRESS.search(clean) and not _NOISE.search(clean):
                short = _shorten(clean)
                if short != self.last:  # Ray echoes some worker lines twice
                    self.terminal.write(short + "\n")
                    self.terminal.flush()
                self.last = short
        return len(s)

    def flush(self) -> None:
        self.log.flush()


def _shorten(line: str) -> str:
    line = re.sub(r"^\[KFP Executor [^\]]*\]:\s*", "", line)
    line = re.sub(r"^\((RayTrainWorker|TrainController) pid=\d+\)\s*", "", line)
    if line.startswith("{'"):  # trainer metrics dict: keep the useful keys
        keep = re.findall(r"'(loss|eval_loss|learning_rate|epoch|objective/scores|objective/kl)': "
                          r"'?([-0-9.e]+)'?", line)
        line = "    " + ", ".join(f"{k.split('/')[-1]}={float(v):.4g}" for k, v in keep)
    return line[:200]


@contextmanager
def progress_to_terminal(log_path: Path, terminal=None):
    """Everything printed goes to log_path; progress lines also to `terminal` (default
    the process's own, sys.__stdout__; a notebook passes its cell's sys.stdout)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        terminal = terminal or sys.__stdout__
        tee = _Tee(log, terminal)
        with redirect_stdout(tee), redirect_stderr(tee):
            yield
