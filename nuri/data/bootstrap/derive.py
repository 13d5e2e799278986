"""Training sets derived from an agency's documents alone: question/answer pairs from
each document's structure (articles, chapters, a bill's sections), preference records
whose rejected answers are the wrong passage, a wrong fact or a decline, the shared
off-domain and harmful prompts with the domain's own decline and refusal, and a
multiple-choice knowledge set. Pure: documents and settings in, records out.

Every record carries `origin: derived` and `source` (the document id), so the data
card can say where each item came from, and `nuri label` can show a person the
candidates before they are trusted (review.py)."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

from nuri.data.bootstrap.structure import Article, Structure, first_sentences, parse
from nuri.data.clean import normalise

DERIVED = "derived"
REVIEWED = "reviewed"


@dataclass
class DerivedSets:
    sft: list[dict] = field(default_factory=list)
    preferences: list[dict] = field(default_factory=list)
    offdomain: list[dict] = field(default_factory=list)
    safety: list[dict] = field(default_factory=list)
    knowledge_eval: list[dict] = field(default_factory=list)   # named as the data config field

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class _QA:
    prompt: str
    answer: str
    source: str
    unit: str          # which unit of which document: wrong-passage answers come from others


def _particle(word: str, with_final: str, without: str) -> str:
    """은/는, 이/가 ...: by whether the word's last syllable has a final consonant."""
    word = re.sub(r"\([^()]*\)$", "", word.rstrip())  # 제4조(비용) reads as 제4조
    last = word[-1:]
    if "가" <= last <= "힣":
        return with_final if (ord(last) - 0xAC00) % 28 else without
    if last.isdigit():
        return with_final if last in "013678" else without
    return without


def article_name(law: str, a: Article) -> str:
    """"대한민국헌법 제10조", "가상법 제4조(비용)", "가상법 부칙 제1조"."""
    prefix = f"{law} 부칙" if a.addenda else law
    return f"{prefix} 제{a.number}조" + (f"({a.title})" if a.title else "")


def article_unit(doc_id: str, a: Article) -> str:
    """The article's id as a unit of its document ("constitution.txt#10", "...#부칙1")."""
    return f"{doc_id}#{'부칙' if a.addenda else ''}{a.number}"


def _subject(text: str) -> str | None:
    """The topic of an article's first sentence ("대한민국의 영토는 ..." -> 대한민국의 영토)."""
    m = re.match(r"^(?:[①-⑳]\s*)?([^,.은는]{2,24}?)(?:은|는)\s", text)
    return m.group(1).strip() if m else None


def article_pairs(law: str, doc_id: str, structure: Structure, answer_chars: int) -> list[_QA]:
    out: list[_QA] = []
    subjects = Counter(_subject(a.text) for a in structure.articles)
    for a in structure.articles:
        body = first_sentences(a.text, 2, answer_chars)
        if not body:
            continue
        name = article_name(law, a)
        unit = article_unit(doc_id, a)
        ref = f"{law} 부칙 제{a.number}조" if a.addenda else f"{law} 제{a.number}조"
        out.append(_QA(f"{ref}{_particle(ref, '은', '는')} 무엇을 정하고 있나요?",
                       f"{name}{_particle(name, '은', '는')} 이렇게 정하고 있습니다. {body}", doc_id, unit))
        if a.title:
            out.append(_QA(f"{law}에서 {a.title}에 관한 규정은 무엇인가요?",
                           f"{name}에 있습니다. {body}", doc_id, unit))
        subject = _subject(a.text)
        # Only a topic one article has: asked of two, the question would have two answers.
        if subject and subjects[subject] == 1 and not a.addenda:
            out.append(_QA(f"{law}에서 {subject}에 대해 어떻게 정하고 있나요?",
                           f"{name}에 있습니다. {body}", doc_id, unit))
    for chapter, articles in structure.chapters.items():
        first, last = articles[0], articles[-1]
        lead = first_sentences(first.text, 1, answer_chars // 2)
        out.append(_QA(f"{law} {chapter}에는 어떤 조항이 있나요?",
                       f"{chapter}에는 제{first.number}조부터 제{last.number}조까지 {len(articles)}개 조항이 있습니다. "
                       f"첫 조항인 제{first.number}조는 이렇게 정합니다. {lead}", doc_id, f"{doc_id}#{chapter}"))
    return out


_SECTION_QUESTIONS = {
    "제안이유": "{title}의 제안 이유는 무엇인가요?",
    "제안 이유": "{title}의 제안 이유는 무엇인가요?",
    "제안이유 및 주요내용": "{title}의 제안 이유와 주요 내용은 무엇인가요?",
    "주요내용": "{title}의 주요 내용은 무엇인가요?",
}


def section_pairs(doc_id: str, structure: Structure, answer_chars: int) -> list[_QA]:
    title = structure.title
    out = []
    for s in structure.sections:
        body = first_sentences(s.text, 2, answer_chars)
        if not body:
            continue
        question = _SECTION_QUESTIONS.get(s.heading, "{title}에서 '{heading}'은 무엇인가요?")
        out.append(_QA(question.format(title=title, heading=s.heading),
                       f"{title}의 {s.heading.replace(' 및 ', '와 ')}{_particle(s.heading, '은', '는')} 이렇습니다. {body}",
                       doc_id, f"{doc_id}#{s.heading}"))
    if structure.proposed:
        out.append(_QA(f"{title}{_particle(title, '은', '는')} 언제 발의되었나요?",
                       f"{title}{_particle(title, '은', '는')} {structure.proposed}에 발의되었습니다.",
                       doc_id, f"{doc_id}#발의"))
    return out


_NUMBER = re.compile(r"\d+")


def wrong_fact(answer: str, rng: random.Random) -> str | None:
    """The answer with one of its numbers changed (an article, an age, a date, an
    amount): right in form, wrong in fact."""
    numbers = list(_NUMBER.finditer(answer))
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = int(m.group(0))
    changed = value + rng.choice([1, 2, 3]) if value < 3 or rng.random() < 0.5 else value - rng.choice([1, 2])
    return answer[:m.start()] + str(changed) + answer[m.end():]


def derive(documents: list[dict], *, decline: str, refusal: str, offdomain_prompts: list[str],
           harmful_prompts: list[dict], answer_chars: int = 160, knowledge_items: int = 40,
           seed: int = 13) -> DerivedSets:
    """documents: [{id, text}] (already cleaned and de-identified). harmful_prompts:
    [{prompt, category}]."""
    rng = random.Random(seed)
    pairs: list[_QA] = []
    articles: list[tuple[str, Article]] = []
    for doc in documents:
        structure = parse(doc["text"])
        law = structure.title
        pairs += article_pairs(law, doc["id"], structure, answer_chars)
        pairs += section_pairs(doc["id"], structure, answer_chars)
        articles += [(law, a) for a in structure.articles if not a.addenda]
    seen, unique = set(), []
    for qa in pairs:  # one answer per question: a prompt asked twice with two answers teaches neither
        key = normalise(qa.prompt)
        if key not in seen:
            seen.add(key)
            unique.append(qa)
    out = DerivedSets()
    for qa in unique:
        out.sft.append({"prompt": qa.prompt, "answer": qa.answer, "category": "domain", "origin": DERIVED,
                        "source": qa.source})
        answers, kinds = [qa.answer], ["answer"]
        others = [o for o in unique if o.unit != qa.unit]
        if others:
            answers.append(rng.choice(others).answer)
            kinds.append("other_programme")   # the wrong passage: another provision's answer
        fact = wrong_fact(qa.answer, rng)
        if fact and fact != qa.answer:
            answers.append(fact)
            kinds.append("wrong_fact")
        answers.append(decline)
        kinds.append("decline_in_domain")
        out.preferences.append({"prompt": qa.prompt, "answers": answers, "chosen": 0, "kinds": kinds,
                                "origin": DERIVED, "source": qa.source})
    domain_answers = [qa.answer for qa in unique]
    for prompt in offdomain_prompts:
        out.offdomain.append({"prompt": prompt, "decline": decline, "origin": DERIVED, "source": "shared"})
        if domain_answers:
            out.preferences.append({"prompt": prompt, "answers": [decline, rng.choice(domain_answers)], "chosen": 0,
                                    "kinds": ["decline", "domain_answer_off_domain"], "origin": DERIVED,
                                    "source": "shared"})
    for item in harmful_prompts:
        out.safety.append({"prompt": item["prompt"], "category": item["category"], "refusal": refusal,
                           "origin": DERIVED, "source": "shared"})
        if domain_answers:
            out.preferences.append({"prompt": item["prompt"], "answers": [refusal, rng.choice(domain_answers)],
                                    "chosen": 0, "kinds": ["refusal", "domain_answer_off_domain"],
                                    "origin": DERIVED, "source": "shared"})
    out.knowledge_eval = knowledge_questions(articles, knowledge_items, answer_chars, rng)
    return out


def knowledge_questions(articles: list[tuple[str, Article]], n: int, answer_chars: int,
                        rng: random.Random) -> list[dict]:
    """Multiple choice: which text is the article's? The others are other articles'."""
    if len(articles) < 4:
        return []
    picked = rng.sample(articles, min(n, len(articles)))
    out = []
    for law, a in picked:
        right = first_sentences(a.text, 1, answer_chars)
        wrong = [first_sentences(o.text, 1, answer_chars) for _, o in rng.sample(articles, min(6, len(articles)))
                 if o is not a]
        choices = list(dict.fromkeys([right, *[w for w in wrong if w != right]]))[:4]
        if len(choices) < 4:
            continue
        rng.shuffle(choices)
        out.append({"question": f"{law} 제{a.number}조의 내용은 무엇인가요?", "choices": choices,
                    "answer": choices.index(right), "origin": DERIVED})
    return out
