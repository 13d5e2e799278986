"""Where a domain's data stands against the national targets, on its data card."""

from nuri.data.cards import render_html, render_markdown
from nuri.data.readiness import TARGETS, readiness

CARD = {"domain": "law", "version": "v1", "counts": {"sft_train": 393, "sft_heldout": 85, "preferences_train": 9000,
                                                     "preferences_heldout": 1000, "filtering_train": 56,
                                                     "filtering_heldout": 10},
        "corpus": {"tokens": 12_345}, "removed": {}, "pii_redacted": {}, "deid_mode": "mask", "files_sha256": {}}


def test_each_target_is_measured_against_the_card():
    rows = {r["key"]: r for r in readiness(CARD)}
    assert [t.key for t in TARGETS] == list(rows)
    assert rows["corpus_tokens"]["have"] == 12_345 and not rows["corpus_tokens"]["met"]
    assert rows["corpus_tokens"]["share"] == round(12_345 / 100_000_000, 4)
    assert rows["sft_pairs"]["have"] == 478 and rows["sft_pairs"]["target"] == 10_000
    assert rows["preference_prompts"]["have"] == 10_000 and rows["preference_prompts"]["met"]
    assert rows["labelled_items"]["have"] == 478 + 10_000 + 66 and rows["labelled_items"]["met"]


def test_the_card_says_what_is_still_short():
    card = {**CARD, "readiness": readiness(CARD)}
    md = render_markdown(card)
    assert "## Readiness against the national targets" in md
    assert "| SFT pairs | 478 | 10,000 | 4.8% | short |" in md
    assert "Still short: corpus tokens (whitespace words), SFT pairs, filtering items (harmful requests)." in md
    assert "<h2>Readiness against the national targets</h2>" in render_html(card)
