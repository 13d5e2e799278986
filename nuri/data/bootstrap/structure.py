"""The structure of a public document: its title, its chapters and articles (제N장,
제N조) or, for a bill, its named sections (제안이유, 주요내용 ...). Pure text in, units
out; what questions to ask of them is `derive.py`'s business.

Laws and bills are the structure Korean public documents share: numbered articles under
numbered chapters, and bills with fixed section headings. A document with neither still
yields its headed paragraphs (a short line followed by text), so any corpus gives
something to ask about."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "제12조", "제12조의2", optionally "(제목)", at the start of a line.
_ARTICLE = re.compile(r"^\s*제\s*(\d+)\s*조(?:\s*의\s*(\d+))?\s*(?:\(([^)]{1,40})\))?\s*(.*)$")
_CHAPTER = re.compile(r"^\s*제\s*(\d+)\s*(장|절)\s+(\S.{0,40})$")
# The annex that follows the main text; its articles restart at 제1조.
_ADDENDA = re.compile(r"^\s*(?:\S+\s+)?부\s*칙\b")
_BILL_SECTIONS = ("제안이유 및 주요내용", "제안이유", "주요내용", "제안 이유")
_DATE = re.compile(r"발\s*의\s*연\s*월\s*일\s*:\s*(\d{4})\.\s*(\d{1,2})\.\s*(\d{1,2})")
_PAGE = re.compile(r"^\s*-\s*\d+\s*-\s*$")
_SENTENCE_END = re.compile(r"(?<=[다임음함됨])\.(?=\s|$)")


@dataclass(frozen=True)
class Article:
    number: str            # "10", "12의2"
    title: str             # the article's heading in brackets, or ""
    text: str              # its paragraphs, joined
    chapter: str           # "제2장 국민의 권리와 의무", or ""
    addenda: bool = False  # an article of the 부칙


@dataclass(frozen=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True)
class Structure:
    title: str
    articles: list[Article]
    sections: list[Section]
    proposed: str | None = None    # a bill's 발의연월일, "2010년 11월 12일"
    preamble: str = ""             # text before the first chapter or article

    @property
    def chapters(self) -> dict[str, list[Article]]:
        out: dict[str, list[Article]] = {}
        for a in self.articles:
            if a.chapter and not a.addenda:
                out.setdefault(a.chapter, []).append(a)
        return out


def unwrap(text: str) -> list[str]:
    """Lines with hard wrapping undone. Bills are printed at a fixed width with a blank
    line after every printed line: a wrapped line that ended inside a word has no
    trailing space ("필요" + "한 나이"), one that ended between words keeps it."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        if not line.strip() or _PAGE.match(line):
            continue
        starts_unit = bool(_ARTICLE.match(line) or _CHAPTER.match(line) or _ADDENDA.match(line)
                           or line.strip() in _BILL_SECTIONS or re.match(r"^\s*[①-⑳]", line))
        if pending and not starts_unit and not _ends_sentence(pending):
            pending += line if pending.endswith(" ") else line.lstrip()
            continue
        if pending:
            out.append(" ".join(pending.split()))
        pending = line
    if pending:
        out.append(" ".join(pending.split()))
    return out


def _ends_sentence(line: str) -> bool:
    s = line.rstrip()
    return s.endswith((".", "다", ":", ")")) or len(s) < 30


def first_sentences(text: str, n: int = 2, max_chars: int = 160) -> str:
    """The first n sentences, cut at a sentence end within max_chars where one is."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p.strip()]
    out = ""
    for p in parts[:n]:
        candidate = f"{out} {p}.".strip()
        if len(candidate) > max_chars and out:
            break
        out = candidate
    if len(out) <= max_chars:
        return out
    cut = out[:max_chars]
    return cut[:cut.rfind(" ")] if " " in cut else cut  # never inside a word


def parse(text: str) -> Structure:
    # The title is the first block of lines (a long bill title wraps onto a second).
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    head, _, rest = text.strip().partition("\n\n")
    title = " ".join(head.split())
    lines = [title, *unwrap(rest)]
    if not title:
        return Structure(title="", articles=[], sections=[])
    articles: list[Article] = []
    chapter = ""
    addenda = False
    current: dict | None = None
    preamble: list[str] = []

    def close() -> None:
        if current and current["text"].strip():
            articles.append(Article(number=current["number"], title=current["title"],
                                    text=" ".join(current["text"].split()), chapter=current["chapter"],
                                    addenda=current["addenda"]))

    for line in lines[1:]:
        if _ADDENDA.match(line):
            close()
            current, addenda, chapter = None, True, "부칙"
            continue
        m = _CHAPTER.match(line)
        if m and not addenda:
            close()
            current = None
            kind = m.group(2)
            heading = f"제{m.group(1)}{kind} {m.group(3).strip()}"
            # A 절 sits inside its 장: keep the chapter and name the section after it.
            chapter = heading if kind == "장" else f"{chapter.split(' · ')[0]} · {heading}"
            continue
        m = _ARTICLE.match(line)
        if m:
            close()
            number = m.group(1) + (f"의{m.group(2)}" if m.group(2) else "")
            current = {"number": number, "title": (m.group(3) or "").strip(), "text": m.group(4),
                       "chapter": chapter, "addenda": addenda}
            continue
        if current is not None:
            current["text"] += " " + line
        elif not articles and not chapter:
            preamble.append(line)
    close()
    sections = _sections(lines)
    date = _DATE.search(text)
    proposed = f"{date.group(1)}년 {int(date.group(2))}월 {int(date.group(3))}일" if date else None
    if not articles and not sections:
        sections = _headed_paragraphs(lines[1:])
    # A bill quotes the articles it amends; those are not the bill's own provisions.
    if any(s.heading.startswith("제안") for s in sections):
        articles = []
    return Structure(title=title, articles=articles, sections=sections, proposed=proposed,
                     preamble=" ".join(" ".join(preamble).split()) if articles else "")


def _sections(lines: list[str]) -> list[Section]:
    out, heading, body = [], None, []
    for line in lines:
        s = line.strip()
        if s in _BILL_SECTIONS:
            if heading and body:
                out.append(Section(heading, " ".join(body)))
            heading, body = s, []
        elif heading is not None:
            if re.match(r"^(법률\s*제|부\s*칙|신\s*[·ㆍ]?\s*구조문대비표)", s):
                out.append(Section(heading, " ".join(body)))
                heading, body = None, []
            else:
                body.append(s)
    if heading and body:
        out.append(Section(heading, " ".join(body)))
    return [Section(h, " ".join(t.split())) for h, t in ((s.heading, s.text) for s in out) if t.strip()]


def _headed_paragraphs(lines: list[str]) -> list[Section]:
    """A short line without a sentence end, followed by text: a heading and its section."""
    out = []
    for head, body in zip(lines, lines[1:]):
        if len(head) <= 40 and not head.rstrip().endswith((".", "다")) and len(body) >= 40:
            out.append(Section(head.strip(), body.strip()))
    return out
