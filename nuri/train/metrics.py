"""Training-curve arithmetic and plots, shared by the stages. Pure apart from plotting."""

from __future__ import annotations

from pathlib import Path


def series(log_history: list[dict], key: str) -> list[tuple[int, float]]:
    return [(int(e.get("step", i)), float(e[key])) for i, e in enumerate(log_history) if key in e]


def relative_drop(values: list[float], window: float = 0.1) -> float:
    """(first - last) / first, each the mean of a `window` share of the points: > 0 means
    the curve fell. Needs at least two points."""
    if len(values) < 2:
        return float("nan")
    k = max(1, int(len(values) * window))
    first = sum(values[:k]) / k
    last = sum(values[-k:]) / k
    return (first - last) / first if first else float("nan")


def plot_curves(log_history: list[dict], keys: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [k for k in keys if series(log_history, k)]
    if not present:
        return
    fig, axes = plt.subplots(1, len(present), figsize=(4.5 * len(present), 3.2), squeeze=False)
    for ax, key in zip(axes[0], present):
        pts = series(log_history, key)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", linewidth=1)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
