"""What machine a stage ran on, for the model profile card's cost fields: read from the
machine itself (measured), never from config."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def describe(use_gpu: bool = True) -> dict:
    """CPU model, cores, memory, and the accelerator torch sees (None on CPU)."""
    gpu, gpus = None, 0
    if use_gpu:
        try:
            import torch

            if torch.cuda.is_available():
                gpus = torch.cuda.device_count()
                gpu = torch.cuda.get_device_name(0)
        except Exception:  # noqa: BLE001 - no torch or no driver: no accelerator to report
            pass
    return {"cpu": _cpu_model(), "cpu_cores": os.cpu_count(), "memory_gib": _memory_gib(),
            "accelerator": gpu, "accelerators": gpus}

