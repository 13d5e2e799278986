"""Where a domain's data stands against the national targets for a specialist model,
so an agency sees what its data still lacks before it spends GPU time. Pure: a data
card's counts in, rows out.

The targets: the national AI strategy asks for about 100M tokens of text and 10k
labelled items per specialist domain; the InstructGPT-style recipe for at least 10k SFT
items and 10k reward-model items (preference prompts). Tokens here are whitespace words
of the de-identified corpus (the card's `corpus.tokens`): a model's tokenizer counts
more, so the share is a floor."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    key: str
    what: str
    target: int
    source: str


TARGETS = (
    Target("corpus_tokens", "corpus tokens (whitespace words)", 100_000_000, "national AI strategy: ~100M tokens"),
    Target("labelled_items", "labelled items (SFT + preference prompts + filtering)", 10_000,
           "national AI strategy: 10k labelled items"),
    Target("sft_pairs", "SFT pairs", 10_000, "recipe: at least 10k SFT items"),
    Target("preference_prompts", "preference prompts (reward model)", 10_000, "recipe: at least 10k RM items"),
    Target("filtering_items", "filtering items (harmful requests)", 1_000, "recipe: a filtering set (no "
                                                                           "national figure; 10% of SFT)"),
)


def have(card: dict) -> dict[str, int]:
    counts = card.get("counts", {})
    sft = counts.get("sft_train", 0) + counts.get("sft_heldout", 0)
    prefs = counts.get("preferences_train", 0) + counts.get("preferences_heldout", 0)
    filtering = counts.get("filtering_train", 0) + counts.get("filtering_heldout", 0)
    return {"corpus_tokens": card.get("corpus", {}).get("tokens", 0), "labelled_items": sft + prefs + filtering,
            "sft_pairs": sft, "preference_prompts": prefs, "filtering_items": filtering}


def readiness(card: dict) -> list[dict]:
    got = have(card)
    return [{"key": t.key, "what": t.what, "have": got[t.key], "target": t.target,
             "share": round(got[t.key] / t.target, 4), "met": got[t.key] >= t.target, "source": t.source}
            for t in TARGETS]


def render_markdown(rows: list[dict]) -> list[str]:
    lines = ["", "## Readiness against the national targets", "",
             "| what | have | target | share | |", "|---|---|---|---|---|"]
    lines += [f"| {r['what']} | {r['have']:,} | {r['target']:,} | {r['share']:.1%} | {'met' if r['met'] else 'short'} |"
              for r in rows]
    short = [r["what"] for r in rows if not r["met"]]
    lines += ["", f"Still short: {', '.join(short)}." if short else "Every target is met."]
    return lines
