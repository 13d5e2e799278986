"""Hallucination measured against the domain's own documents: the facts an answer states
(amounts, percentages, ages, years, counts, article numbers, hotline numbers, and the
names of programmes and offices) are looked up in the document the question's answer
comes from.

For each held-out in-domain question the source document is found by BM25 (bm25s) over
the prepared, de-identified corpus, queried with the question and its reference answer.
A question counts only when every fact of the reference answer is in that document
("grounded"), so a retrieval miss is not blamed on the model. A model's answer is then

    supported      every fact it states is in the source document;
    contradicted   it states a fact of a kind the document states, with another value
                   (65세 where the document says 60세; another programme's name);
    unsupported    it states a fact of a kind the document does not state at all;
    absent         it states no checkable fact.

Rules, not a model: a small model's wrong programme name or amount is exactly what users
report as hallucination, and a pattern finds it without a judge that could itself be
wrong. What the rules cannot see (a wrong paraphrase without numbers or names) is
counted as absent, never as supported."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Names of programmes and offices end in one of these: 기초연금, 생계급여, 아동수당,
# 에너지바우처, 행정복지센터, 국민연금공단, 청년내일저축계좌, 첫만남이용권 ...
TERM_SUFFIXES = ("급여", "수당", "연금", "바우처", "제도", "사업", "센터", "공단", "계좌", "이용권", "보험",
                 "장려금", "지원금", "카드", "공사", "위원회")
_TERM = re.compile(r"[가-힣]{2,14}?(?:" + "|".join(TERM_SUFFIXES) + r")(?![가-힣]*(?:" + "|".join(TERM_SUFFIXES) + "))")
_UNITS = {"억": 100_000_000, "천만": 10_000_000, "백만": 1_000_000, "만": 10_000, "천": 1_000}
_AMOUNT = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(억|천만|백만|만|천)?\s*원")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|퍼센트)")
_AGE = re.compile(r"(\d{1,3})\s*(?:세|살)(?![가-힣]*대)")
_YEAR = re.compile(r"(\d{4})\s*년(?!간)")
_COUNT = re.compile(r"(\d+)\s*(개월|년간|주간|일간|회|인 가구|인가구|명|가구|시간)")
_ARTICLE = re.compile(r"제\s*(\d+)\s*조(?:\s*의\s*(\d+))?")
# Representative numbers: 1577-1000, or 129 after 국번 없이 (a bare 100 is a percentage).
_HOTLINE = re.compile(r"(?<![\d-])(1\d{3}-\d{4})(?![\d-])|국번\s*없이\s*(1\d{2,3})(?!\d)")

VERDICTS = ("supported", "contradicted", "unsupported", "absent")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def extract_facts(text: str) -> set[tuple[str, str]]:
    """The checkable facts of a text as (kind, normalised value) pairs."""
    facts: set[tuple[str, str]] = set()
    for m in _AMOUNT.finditer(text):
        facts.add(("amount", f"{_number(m.group(1)) * _UNITS.get(m.group(2) or '', 1):.0f}"))
    facts.update(("percent", f"{_number(m.group(1)):g}") for m in _PERCENT.finditer(text))
    facts.update(("age", m.group(1)) for m in _AGE.finditer(text))
    facts.update(("year", m.group(1)) for m in _YEAR.finditer(text))
    facts.update((f"count:{m.group(2).replace(' ', '')}", m.group(1)) for m in _COUNT.finditer(text))
    facts.update(("article", m.group(1) + (f"의{m.group(2)}" if m.group(2) else "")) for m in _ARTICLE.finditer(text))
    facts.update(("hotline", m.group(1) or m.group(2)) for m in _HOTLINE.finditer(text))
    facts.update(("term", m.group(0)) for m in _TERM.finditer(text))
    return facts


def _kinds(facts: set[tuple[str, str]]) -> set[str]:
    return {k for k, _ in facts}


def holds(fact: tuple[str, str], source_facts: "set | frozenset", source_text: str) -> bool:
    # A name is supported when the document spells it anywhere (a longer name may contain
    # it: 기초생활보장 생계급여 holds 생계급여); other facts by their normalised value.
    return fact[1] in source_text if fact[0] == "term" else fact in source_facts


def verdict(answer: str, source_text: str, source_facts: "set | frozenset | None" = None) -> str:
    """One of VERDICTS for an answer checked against its source document."""
    facts = extract_facts(answer)
    if not facts:
        return "absent"
    source_facts = extract_facts(source_text) if source_facts is None else source_facts
    wrong = [f for f in facts if not holds(f, source_facts, source_text)]
    if not wrong:
        return "supported"
    return "contradicted" if any(k in _kinds(source_facts) for k, _ in wrong) else "unsupported"


def tokens(text: str) -> list[str]:
    """BM25 terms for Korean: character bigrams inside each word, so 기초연금은 and
    기초연금을 share every term but the last (no Korean tokenizer to install)."""
    out = []
    for word in re.findall(r"[가-힣]+|[A-Za-z]+|\d+", text):
        out.extend([word] if len(word) < 2 else [word[i:i + 2] for i in range(len(word) - 1)])
    return out


class SourceIndex:
    """BM25 over the prepared corpus's documents (bm25s)."""

    def __init__(self, documents: list[str]):
        import bm25s

        if not documents:
            raise ValueError("the source index needs at least one document")
        self.documents = documents
        self._bm25 = bm25s.BM25()
        self._bm25.index([tokens(d) for d in documents], show_progress=False)

    def best(self, query: str) -> int:
        ids, _ = self._bm25.retrieve([tokens(query) or ["_"]], k=1, show_progress=False)
        return int(ids[0][0])


@dataclass(frozen=True)
class GroundedQuestion:
    prompt: str
    reference: str
    source: str          # the whole source document's text
    source_facts: frozenset  # extract_facts(source), kept: every answer is checked against it


def grounded_questions(index: SourceIndex, questions: list[tuple[str, str]]) -> list[GroundedQuestion]:
    """(prompt, reference) pairs whose reference answer's facts all hold in the document
    BM25 ranks first for prompt + reference; the rest cannot be checked and are dropped."""
    out = []
    for prompt, reference in questions:
        source = index.documents[index.best(f"{prompt} {reference}")]
        facts = frozenset(extract_facts(source))
        if verdict(reference, source, facts) == "supported":
            out.append(GroundedQuestion(prompt, reference, source, facts))
    return out


def fact_check_rates(questions: list[GroundedQuestion], answers: list[str], model: str) -> dict[str, float]:
    """facts_<verdict>_<model>: the share of grounded questions whose answer got each
    verdict, and hallucination_rate_<model> (contradicted + unsupported)."""
    verdicts = [verdict(a, q.source, q.source_facts) for q, a in zip(questions, answers)]
    n = len(verdicts)
    rates = {f"facts_{v}_{model}": (verdicts.count(v) / n if n else float("nan")) for v in VERDICTS}
    rates[f"hallucination_rate_{model}"] = rates[f"facts_contradicted_{model}"] + rates[f"facts_unsupported_{model}"]
    return rates
