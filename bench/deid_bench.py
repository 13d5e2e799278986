"""De-identification benchmark: per-type precision/recall/F2 and throughput, ours beside Presidio's.

    python bench/deid_bench.py [--docs 2000] [--seed 7]

Scores come from the labelled synthetic set in ``nuri.deid.synthetic`` (see
``nuri.deid.evaluation`` for how spans are matched). Presidio is optional
(bench/requirements-bench.txt): when it cannot be imported or run offline,
the reason is printed and our figures are printed alone. No value found in
the text is ever printed, only counts and rates.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nuri.deid import Deidentifier  # noqa: E402
from nuri.deid.evaluation import TypeScore, score  # noqa: E402
from nuri.deid.synthetic import Sample, generate  # noqa: E402
from nuri.deid.pii_types import BUILTIN_TYPES, CHECKSUM_TYPES, Finding  # noqa: E402

Predict = Callable[[str], list[Finding]]

# Presidio entity -> our type, for the recognizers that have a counterpart.
PRESIDIO_TYPES = {
    "KR_RRN": "RRN", "KR_FRN": "FOREIGNER_RN", "KR_BRN": "BUSINESS_RN", "KR_PASSPORT": "PASSPORT",
    "KR_DRIVER_LICENSE": "DRIVER_LICENSE", "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CARD", "IP_ADDRESS": "IP",
}


def presidio_predictor() -> tuple[Predict | None, str]:
    """Presidio's recognizers as a predictor, or None and the reason it cannot run here."""
    try:
        from presidio_analyzer import predefined_recognizers as pr
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return None, f"presidio-analyzer not importable ({type(exc).__name__}: {exc}); " \
                     "pip install -r bench/requirements-bench.txt"
    # The e-mail recognizer's tldextract tries to fetch the public suffix list
    # and logs a traceback per URL when offline; it then uses its bundled copy.
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    try:
        how = f"presidio-analyzer {importlib.metadata.version('presidio-analyzer')}"
    except importlib.metadata.PackageNotFoundError:
        how = "presidio-analyzer"
    try:
        import spacy.util
        has_model = spacy.util.is_package("en_core_web_lg")
    except Exception:  # noqa: BLE001
        has_model = False
    if has_model:
        note = "spaCy model present, but for a like-for-like regex comparison "
    else:
        note = ("AnalyzerEngine() needs the spaCy model en_core_web_lg, which it downloads from "
                "GitHub at first use (no network here), so ")
    note += ("Presidio's recognizers run directly via recognizer.analyze() without NER or context "
             "enhancement: no PERSON/LOCATION, nothing for 법인등록번호 or bank accounts; "
             "PhoneRecognizer set to region KR; results with score > 0 kept")
    names = ["KrRrnRecognizer", "KrFrnRecognizer", "KrBrnRecognizer", "KrPassportRecognizer",
             "KrDriverLicenseRecognizer", "EmailRecognizer", "CreditCardRecognizer", "IpRecognizer"]
    try:
        recognizers = [getattr(pr, n)() for n in names if hasattr(pr, n)]
        recognizers.append(pr.PhoneRecognizer(supported_regions=("KR",)))
    except Exception as exc:  # noqa: BLE001
        return None, f"{how}: recognizers failed to build ({type(exc).__name__}: {exc})"
    missing = [n for n in names if not hasattr(pr, n)]
    if missing:
        note += f"; missing in this version: {', '.join(missing)}"

    def predict(text: str) -> list[Finding]:
        found: set[Finding] = set()
        for rec in recognizers:
            for r in rec.analyze(text, rec.supported_entities, None) or []:
                if r.score > 0 and r.entity_type in PRESIDIO_TYPES:
                    found.add(Finding(r.start, r.end, PRESIDIO_TYPES[r.entity_type]))
        return sorted(found)

    return predict, f"{how.strip()}: {note}"


def throughput(predict: Callable[[str], object], texts: list[str], budget_s: float = 8.0) -> float:
    """MB/s of UTF-8 text, one call per document (as the data pipeline does)."""
    done_bytes, start = 0, time.perf_counter()
    while True:
        for text in texts:
            predict(text)
            done_bytes += len(text.encode("utf-8"))
            if time.perf_counter() - start > budget_s:
                break
        elapsed = time.perf_counter() - start
        if elapsed > min(1.0, budget_s):
            return done_bytes / elapsed / 1e6


def _fmt(s: TypeScore | None) -> str:
    if s is None:  # no recognizer for this type
        return f"{'n/a':>6} {'-':>6} {'-':>6}"
    return f"{s.precision:6.3f} {s.recall:6.3f} {s.f2:6.3f}"


def _checksum_recall(scores: dict[str, TypeScore]) -> float:
    tp = sum(scores[t].tp for t in CHECKSUM_TYPES if t in scores)
    total = tp + sum(scores[t].fn for t in CHECKSUM_TYPES if t in scores)
    return tp / total if total else 1.0


def _real_texts() -> list[str]:
    folder = ROOT.parent / "shared" / "samples"
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*/*.txt"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=5.0, help="time budget per throughput run")
    args = parser.parse_args(argv)

    samples: list[Sample] = generate(args.docs, args.seed)
    texts = [s.text for s in samples]
    labelled = sum(len(s.spans) for s in samples)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"synthetic set: {len(samples)} documents, {mb:.2f} MB, {labelled} labelled spans, seed {args.seed}")

    t0 = time.perf_counter()
    deid = Deidentifier()
    build_ms = (time.perf_counter() - t0) * 1e3
    ours = score(samples, deid.find)
    presidio, status = presidio_predictor()
    theirs = score(samples, presidio) if presidio else {}
    # Types Presidio has no recognizer for are shown as n/a, not as a perfect precision.
    theirs = {k: v for k, v in theirs.items() if k in PRESIDIO_TYPES.values()}
    print(f"presidio: {status}" if presidio else f"presidio: not run - {status}")
    print()
    print(f"{'type':15} | {'ours P':>6} {'R':>6} {'F2':>6} | {'presidio P':>6} {'R':>6} {'F2':>6} | labelled")
    for kind in BUILTIN_TYPES:
        n = ours[kind].tp + ours[kind].fn if kind in ours else 0
        print(f"{kind:15} | {_fmt(ours.get(kind))} | {_fmt(theirs.get(kind)) if presidio else '  (not run)':>20}"
              f"     | {n}")
    line = f"recall on checksum-valid numbers ({', '.join(CHECKSUM_TYPES)}): ours {_checksum_recall(ours):.4f}"
    if presidio:
        # A type Presidio cannot detect counts as all missed.
        missed = {k: theirs.get(k, TypeScore(fn=ours[k].tp + ours[k].fn)) for k in CHECKSUM_TYPES if k in ours}
        line += f", presidio {_checksum_recall(missed):.4f}"
    print(line)
    print()

    ours_mbs = throughput(deid.redact, texts, args.seconds)
    print(f"throughput, synthetic (redact, one call per document): ours {ours_mbs:.2f} MB/s"
          f" (Deidentifier built in {build_ms:.1f} ms)")
    if presidio:
        theirs_mbs = throughput(presidio, texts, args.seconds)
        print(f"throughput, synthetic (detection only): presidio recognizers {theirs_mbs:.2f} MB/s"
              f" -> ours is {ours_mbs / theirs_mbs:.1f}x")
    real = _real_texts()
    if real:
        real_mbs = throughput(deid.redact, real, args.seconds)
        line = f"throughput, ../shared/samples ({len(real)} real documents): ours {real_mbs:.2f} MB/s"
        if presidio:
            real_theirs = throughput(presidio, real, args.seconds)
            line += f", presidio recognizers {real_theirs:.2f} MB/s -> {real_mbs / real_theirs:.1f}x"
        print(line)
    else:
        print("throughput on real text skipped: ../shared/samples not found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
