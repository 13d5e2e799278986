"""De-identification benchmark: Nuri beside Presidio and ko-pii on the same text.

    python bench/deid_bench.py [--docs 1000] [--lookalikes 1000] [--seed 7] [--seconds 1]

Prints, for each tool: recall per type on the labelled synthetic set
(``nuri.deid.synthetic.generate``; spans matched as in ``nuri.deid.evaluation``),
the share of look-alikes left untouched (``nuri.deid.synthetic.lookalikes``:
representative numbers, dates, amounts, article numbers, postal codes,
programme names, titles without a name, numbers failing checksums ...), and
characters per second (detect + replace, one call per document), with the
ratios. Presidio and ko-pii are optional (bench/requirements-bench.txt); a
missing one is reported in one line and left out. No value found in the text
is ever printed, only counts and rates.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nuri.deid import Deidentifier  # noqa: E402
from nuri.deid.evaluation import TypeScore, score  # noqa: E402
from nuri.deid.pii_types import BUILTIN_TYPES, CHECKSUM_TYPES, Finding  # noqa: E402
from nuri.deid.synthetic import LOOKALIKE_CATEGORIES, generate, lookalikes  # noqa: E402

# The goals for Nuri.
GOAL_RECALL, GOAL_UNTOUCHED, GOAL_VS_PRESIDIO, GOAL_VS_KOPII = 0.995, 0.98, 10.0, 5.0

# Peer labels -> our types, for the labels that have a counterpart.
PRESIDIO_TYPES = {
    "KR_RRN": "RRN", "KR_FRN": "FOREIGNER_RN", "KR_BRN": "BUSINESS_RN", "KR_PASSPORT": "PASSPORT",
    "KR_DRIVER_LICENSE": "DRIVER_LICENSE", "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CARD", "IP_ADDRESS": "IP",
}
KOPII_TYPES = {
    "RRN": "RRN", "FRN": "FOREIGNER_RN", "BUSINESS_REG": "BUSINESS_RN", "CORP_REG": "CORPORATE_RN",
    "PHONE": "PHONE", "FAX": "PHONE", "EMAIL": "EMAIL", "CARD": "CARD", "ACCOUNT": "ACCOUNT",
    "PASSPORT": "PASSPORT", "DRIVER_LICENSE": "DRIVER_LICENSE", "IP": "IP", "PERSON": "NAME",
    "ADDRESS": "ADDRESS",
}


@dataclass
class Tool:
    name: str
    # Detects and replaces, as a user would call it; returns the spans of our
    # types and whether the tool changed the text at all (any of its labels).
    process: Callable[[str], tuple[list[Finding], bool]]
    types: frozenset[str]
    note: str
    # What the throughput figure times; process itself unless it does extra work.
    timed: Callable[[str], object] | None = None


def _replace(text: str, spans: list[tuple[int, int]], label: str = "<PII>") -> str:
    """Replace spans, skipping any that overlap one already replaced (Presidio returns overlaps)."""
    parts, pos = [], 0
    for start, end in sorted(spans):
        if start >= pos:
            parts += [text[pos:start], label]
            pos = end
    return "".join(parts) + text[pos:]


def nuri_tool() -> Tool:
    deid = Deidentifier()

    def process(text: str) -> tuple[list[Finding], bool]:
        found = deid.find(text)
        deid.redact(text)
        return found, bool(found)

    # process() detects twice (find for the spans, redact as users call it): time redact alone.
    return Tool("nuri", process, frozenset(BUILTIN_TYPES), "nuri.deid.Deidentifier() defaults", deid.redact)


def presidio_tool() -> tuple[Tool | None, str]:
    """Presidio's AnalyzerEngine with its Korean recognizers switched on."""
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer import predefined_recognizers as pr
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return None, (f"not installed ({type(exc).__name__}: {exc}); "
                      "pip install -r bench/requirements-bench.txt")
    # The e-mail recognizer's tldextract tries to fetch the public suffix list
    # and logs a traceback per URL when offline; it then uses its bundled copy.
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    version = importlib.metadata.version("presidio-analyzer")
    lang = "ko"
    try:
        # KrRrn/KrFrn/KrBrn/KrPassport/KrDriverLicense are `enabled: false` in
        # Presidio's default_recognizers.yaml; registering them is switching them on.
        recognizers = [pr.KrRrnRecognizer(supported_language=lang), pr.KrFrnRecognizer(supported_language=lang),
                       pr.KrBrnRecognizer(supported_language=lang), pr.KrPassportRecognizer(supported_language=lang),
                       pr.KrDriverLicenseRecognizer(supported_language=lang),
                       pr.EmailRecognizer(supported_language=lang), pr.CreditCardRecognizer(supported_language=lang),
                       pr.IpRecognizer(supported_language=lang),
                       pr.PhoneRecognizer(supported_language=lang, supported_regions=("KR",))]
        # No spaCy model can be downloaded here and none exists for Korean
        # rules anyway: the no-op NLP engine runs the pattern recognizers only.
        nlp = NoOpNlpEngine(models=[{"lang_code": lang, "model_name": "no_op"}])
        nlp.load()
        engine = AnalyzerEngine(registry=RecognizerRegistry(recognizers=recognizers, supported_languages=[lang]),
                                nlp_engine=nlp, supported_languages=[lang])
    except Exception as exc:  # noqa: BLE001
        return None, f"presidio-analyzer {version}: engine failed to build ({type(exc).__name__}: {exc})"

    def process(text: str) -> tuple[list[Finding], bool]:
        results = engine.analyze(text, language=lang)
        _replace(text, [(r.start, r.end) for r in results])
        found = [Finding(r.start, r.end, PRESIDIO_TYPES[r.entity_type]) for r in results
                 if r.entity_type in PRESIDIO_TYPES]
        return found, bool(results)

    note = (f"presidio-analyzer {version}, AnalyzerEngine with the 5 Korean recognizers switched on + e-mail, "
            "card, IP, phone (region KR); no-op NLP engine (no NER: no names or addresses), results of any score")
    return Tool("presidio", process, frozenset(PRESIDIO_TYPES.values()), note), ""


def kopii_tool() -> tuple[Tool | None, str]:
    try:
        import ko_pii
    except Exception as exc:  # noqa: BLE001
        return None, (f"not installed ({type(exc).__name__}: {exc}); "
                      "pip install -r bench/requirements-bench.txt")
    version = importlib.metadata.version("ko-pii")

    def process(text: str) -> tuple[list[Finding], bool]:
        detections = ko_pii.detect_all(text)
        ko_pii.redact(text, detections)
        found = [Finding(d.start, d.end, KOPII_TYPES[d.label]) for d in detections if d.label in KOPII_TYPES]
        return found, bool(detections)

    note = (f"ko-pii {version}, detect_all() + redact() with defaults (all 33 labels; the 14 with a "
            "counterpart are scored)")
    return Tool("ko-pii", process, frozenset(KOPII_TYPES.values()), note), ""


def _detect_all(tool: Tool, texts: list[str]) -> tuple[list[list[Finding]], list[bool]]:
    results = [tool.process(t) for t in texts]
    return [r[0] for r in results], [r[1] for r in results]


def _chars_per_second(tool: Tool, texts: list[str], min_seconds: float) -> float:
    """One call per document, passes repeated until ``min_seconds`` of CPU time (at least one).

    CPU time of this process, not wall time: on a shared machine other jobs
    would otherwise slow whichever tool happens to run beside them.
    """
    call = tool.timed or tool.process
    call(texts[0])  # warm-up: lazy dictionaries, compiled patterns
    chars, start = 0, time.process_time()
    while True:
        for text in texts:
            call(text)
        chars += sum(len(t) for t in texts)
        elapsed = time.process_time() - start
        if elapsed >= min_seconds:
            return chars / elapsed


def _real_texts() -> list[str]:
    folder = ROOT.parent / "shared" / "samples"
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*/*.txt"))]


def _recall(scores: dict[str, TypeScore], kinds) -> float:
    tp = sum(scores[k].tp for k in kinds if k in scores)
    total = tp + sum(scores[k].fn for k in kinds if k in scores)
    return tp / total if total else 1.0


def _cell(value: float | None, width: int = 9, fmt: str = ".3f") -> str:
    return f"{'n/a' if value is None else format(value, fmt):>{width}}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


@dataclass
class Result:
    scores: dict[str, TypeScore]
    untouched: dict[str, float]   # by look-alike category, and "all"
    untouched_any: float          # share the tool left unchanged with all of its own labels
    speed: float = 0.0            # characters per second, synthetic set
    real_speed: float = 0.0       # characters per second, ../shared/samples


def measure(tool: Tool, samples, looks: list[tuple[str, str]], seconds: float) -> Result:
    found, _ = _detect_all(tool, [s.text for s in samples])
    in_order = iter(found)  # score() asks for the samples in order
    scores = score(samples, lambda _text: next(in_order))
    look_found, look_changed = _detect_all(tool, [text for _, text in looks])
    per_category: dict[str, list[bool]] = {}
    for (category, _), spans in zip(looks, look_found):
        per_category.setdefault(category, []).append(not spans)
    untouched = {c: sum(v) / len(v) for c, v in per_category.items()}
    untouched["all"] = sum(not spans for spans in look_found) / len(looks)
    result = Result(scores, untouched, sum(not c for c in look_changed) / len(looks))
    result.speed = _chars_per_second(tool, [s.text for s in samples], seconds)
    return result


def print_recall(tools: list[Tool], results: dict[str, Result], labelled: int) -> None:
    names = [t.name for t in tools]
    print("\nrecall by type (a labelled span counts as found when a span of the same type covers it whole)")
    print(f"{'type':16}{'labelled':>9} |" + "".join(f"{n:>9}" for n in names))
    for kind in BUILTIN_TYPES:
        ours = results["nuri"].scores.get(kind)
        n = ours.tp + ours.fn if ours else 0
        print(f"{kind:16}{n:>9} |" + "".join(
            _cell(results[t.name].scores[kind].recall if kind in t.types and n else None) for t in tools))
    print(f"{'all types':16}{labelled:>9} |"
          + "".join(_cell(_recall(results[n].scores, BUILTIN_TYPES)) for n in names)
          + "   (a type without a recognizer counts as missed)")
    print(f"{'types it covers':16}{'':>9} |" + "".join(_cell(_recall(results[t.name].scores, t.types)) for t in tools))
    print(f"{'checksum types':16}{'':>9} |"
          + "".join(_cell(_recall(results[n].scores, CHECKSUM_TYPES)) for n in names)
          + f"   ({', '.join(CHECKSUM_TYPES)})")
    precision = []
    for n in names:
        kinds = results[n].scores.values()
        precision.append(sum(s.correct for s in kinds) / max(1, sum(s.correct + s.spurious for s in kinds)))
    print(f"{'precision':16}{'':>9} |" + "".join(_cell(p) for p in precision))


def print_lookalikes(names: list[str], results: dict[str, Result], looks: list[tuple[str, str]]) -> None:
    print("\nlook-alikes left untouched (no span of the 13 types inside)")
    print(f"{'category':22}{'lines':>6} |" + "".join(f"{n:>9}" for n in names))
    for category in (*LOOKALIKE_CATEGORIES, "all"):
        n = len(looks) if category == "all" else sum(1 for c, _ in looks if c == category)
        print(f"{category:22}{n:>6} |" + "".join(_cell(results[name].untouched.get(category)) for name in names))
    print(f"{'changed by any label':22}{'':>6} |" + "".join(_cell(results[n].untouched_any) for n in names)
          + ("   (ko-pii also redacts titles, ages, postal codes ...)" if "ko-pii" in names else ""))


def print_speed(names: list[str], results: dict[str, Result], n_chars: int, real: list[str]) -> None:
    print("\nthroughput, characters per second of CPU time (detect + replace, one call per document)")
    peers = [n for n in names if n != "nuri"]
    print(f"{'text':34}" + "".join(f"{n:>11}" for n in names) + "".join(f"{'nuri/' + p:>15}" for p in peers))
    rows = [(f"synthetic ({n_chars:,} chars)", {n: results[n].speed for n in names})]
    if real:
        rows.append((f"../shared/samples ({len(real)} docs, {sum(map(len, real)):,})",
                     {n: results[n].real_speed for n in names}))
    else:
        print("(../shared/samples not found: real-text throughput skipped)")
    for label, figures in rows:
        print(f"{label:34}" + "".join(f"{figures[n]:>11,.0f}" for n in names)
              + "".join(f"{figures['nuri'] / figures[p]:>14.1f}x" for p in peers))


def print_goals(results: dict[str, Result], real: list[str]) -> None:
    ours = results["nuri"]
    recall = _recall(ours.scores, BUILTIN_TYPES)
    lines = [f"recall >= {GOAL_RECALL}: {_verdict(recall >= GOAL_RECALL)} ({recall:.4f})",
             f"look-alikes untouched >= {GOAL_UNTOUCHED}: "
             f"{_verdict(ours.untouched['all'] >= GOAL_UNTOUCHED)} ({ours.untouched['all']:.3f})"]
    for peer, goal in (("presidio", GOAL_VS_PRESIDIO), ("ko-pii", GOAL_VS_KOPII)):
        if peer not in results:
            lines.append(f">= {goal:.0f}x {peer}: not measured ({peer} not installed)")
            continue
        ratio = ours.speed / results[peer].speed
        real_ratio = f", {ours.real_speed / results[peer].real_speed:.1f}x real text" if real else ""
        lines.append(f">= {goal:.0f}x {peer}: {_verdict(ratio >= goal)} ({ratio:.1f}x synthetic{real_ratio})")
    print("\ngoals (on the synthetic set, written by the detectors' authors: an upper bound):")
    for line in lines:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="labelled synthetic documents")
    parser.add_argument("--lookalikes", type=int, default=1000, help="look-alike lines")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="least CPU time per throughput run")
    args = parser.parse_args(argv)

    samples = generate(args.docs, args.seed)
    looks = lookalikes(args.lookalikes, args.seed)
    n_chars = sum(len(s.text) for s in samples)
    labelled = sum(len(s.spans) for s in samples)
    print(f"synthetic set: {len(samples)} documents, {n_chars:,} characters, {labelled} labelled spans; "
          f"{len(looks)} look-alike lines; seed {args.seed}")

    tools = [nuri_tool()]
    for name, build in (("presidio", presidio_tool), ("ko-pii", kopii_tool)):
        tool, why = build()
        if tool is None:
            print(f"{name}: {why} - left out of this run")
        else:
            tools.append(tool)
    for tool in tools:
        print(f"{tool.name}: {tool.note}")

    real = _real_texts()
    results: dict[str, Result] = {}
    for tool in tools:
        results[tool.name] = measure(tool, samples, looks, args.seconds)
        if real:
            results[tool.name].real_speed = _chars_per_second(tool, real, args.seconds)

    names = [t.name for t in tools]
    print_recall(tools, results, labelled)
    print_lookalikes(names, results, looks)
    print_speed(names, results, n_chars, real)
    print_goals(results, real)
    return 0


if __name__ == "__main__":
    sys.exit(main())
