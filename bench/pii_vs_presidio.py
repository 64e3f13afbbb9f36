#!/usr/bin/env python3
"""Scores Presidio and Rampart on the labeled corpus written by the Rust corpus test.

Usage: pii_vs_presidio.py CORPUS.jsonl
  CORPUS.jsonl          {"text", "spans": [{"type", "start", "end"}]} per line (negatives: no spans)
  CORPUS.rampart.jsonl  Rampart's findings, one line per text, same order
  CORPUS.rampart.json   Rampart's throughput (Detector::detect, release build)

Presidio runs with its own recognizers for the six types it has (it has none for API keys
and tokens). With spaCy's en_core_web_sm installed in the venv it runs as shipped (NER and
all predefined recognizers); no spaCy model can be downloaded here, so otherwise it runs its
pattern recognizers (CreditCard, UsSsn, Email, Phone, Ip, Iban) behind a blank spaCy English
tokenizer, which keeps its context-word scoring but has no NER model. Offsets are characters
in Python and bytes in Rust: the corpus is ASCII, so they agree.
"""

import json
import logging
import sys
import time
from pathlib import Path

TYPES = ["email", "credit_card", "us_ssn", "phone", "ip_address", "iban", "secret"]
PRESIDIO_TYPES = {
    "CREDIT_CARD": "credit_card",
    "US_SSN": "us_ssn",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "IP_ADDRESS": "ip_address",
    "IBAN_CODE": "iban",
}
# Below this, Presidio is timed and scored on a subset of at least MIN_SUBSET texts.
SLOW_MB_S = 0.1
MIN_SUBSET = 2000
# Time budget for Presidio's scored run when it is that slow.
BUDGET_S = 300


def offline_tldextract():
    """Presidio's email validator uses tldextract, which fetches the public suffix list from
    the network on first use; use the snapshot bundled with tldextract instead."""
    import tldextract

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())


def build_analyzer():
    """Returns (analyzer, entities, mode description)."""
    offline_tldextract()
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    entities = list(PRESIDIO_TYPES)
    if spacy.util.is_package("en_core_web_sm"):
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        nlp = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": "en_core_web_sm"}],
            }
        ).create_engine()
        analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
        return analyzer, entities, "full: spaCy en_core_web_sm NLP engine + all predefined recognizers"

    from presidio_analyzer.nlp_engine import NoOpNlpEngine, SlimSpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    class BlankSpacyNlpEngine(SlimSpacyNlpEngine):
        """Presidio's slim (no-NER) engine over spacy.blank("en"): tokens without a model.
        A blank pipeline has no lemmatizer, so the lower-cased token stands for the lemma
        that Presidio's context enhancer matches context words against."""

        def __init__(self):
            super().__init__(models=[{"lang_code": "en", "model_name": "blank"}], auto_download=False)

        def load(self):
            self.nlp = {"en": spacy.blank("en")}

        def _doc_to_nlp_artifact(self, doc, language):
            artifacts = super()._doc_to_nlp_artifact(doc, language)
            artifacts.lemmas = [t.lemma_ or t.lower_ for t in doc]
            artifacts.keywords = artifacts.set_keywords(self, artifacts.lemmas, language)
            return artifacts

    recognizers = [
        CreditCardRecognizer(),
        UsSsnRecognizer(),
        EmailRecognizer(),
        PhoneRecognizer(),
        IpRecognizer(),
        IbanRecognizer(),
    ]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
    try:
        nlp = BlankSpacyNlpEngine()
        nlp.load()
        mode = "patterns only: no spaCy model here; predefined pattern recognizers behind a blank spaCy tokenizer (context words on, no NER)"
    except Exception as error:  # a Presidio without the slim engine's hooks
        nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
        nlp.load()
        mode = f"patterns only: predefined pattern recognizers behind Presidio's NoOpNlpEngine (no tokens, no context words; blank tokenizer failed: {error})"
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    return analyzer, entities, mode


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def spans_of(items):
    return [(s["type"], s["start"], s["end"]) for s in items]


def score(gold, found, overlap):
    """Per type [tp, fp, fn]. Exact: same type and same range. Overlap: same type and the
    ranges overlap (an expected span counts once, however many findings cover it)."""
    counts = {t: [0, 0, 0] for t in TYPES}
    for expected, got in zip(gold, found):
        got = sorted(set(got))
        for kind, start, end in expected:
            if overlap:
                hit = any(k == kind and s < end and start < e for k, s, e in got)
            else:
                hit = (kind, start, end) in got
            counts[kind][0 if hit else 2] += 1
        for kind, start, end in got:
            if kind not in counts:
                continue
            if overlap:
                ok = any(k == kind and s < end and start < e for k, s, e in expected)
            else:
                ok = (kind, start, end) in expected
            if not ok:
                counts[kind][1] += 1
    return counts


def pr(c):
    tp, fp, fn = c
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def table(title, overlap, gold, rampart, presidio, presidio_05):
    print(f"\n{title}")
    print(f"{'type':<12} {'Rampart P':>10} {'R':>7} | {'Presidio P':>10} {'R':>7} | {'Presidio>=0.5 P':>15} {'R':>7} |  Rampart tp/fp/fn  Presidio tp/fp/fn")
    r_counts = score(gold, rampart, overlap)
    p_counts = score(gold, presidio, overlap)
    q_counts = score(gold, presidio_05, overlap)
    for kind in TYPES:
        rp, rr = pr(r_counts[kind])
        row = f"{kind:<12} {rp:>10.4f} {rr:>7.4f} | "
        if kind == "secret":
            row += f"{'n/a':>10} {'n/a':>7} | {'n/a':>15} {'n/a':>7} |"
            presidio_counts = "no recognizer"
        else:
            pp, prr = pr(p_counts[kind])
            qp, qr = pr(q_counts[kind])
            row += f"{pp:>10.4f} {prr:>7.4f} | {qp:>15.4f} {qr:>7.4f} |"
            presidio_counts = "/".join(map(str, p_counts[kind]))
        row += f"  {'/'.join(map(str, r_counts[kind])):>17}  {presidio_counts}"
        print(row)


def examples(texts, gold, found, name, limit=3):
    """A few exact-span misses and false positives per type, to show what differs."""
    shown = {}
    lines = []
    for text, expected, got in zip(texts, gold, found):
        for kind, start, end in expected:
            if (kind, start, end) not in got and kind != "secret":
                key = (kind, "missed")
                if shown.get(key, 0) < limit:
                    shown[key] = shown.get(key, 0) + 1
                    near = [(k, text[s:e]) for k, s, e in got if s < end and start < e]
                    lines.append(f"  {kind} missed: {text[start:end]!r} in {text[:90]!r}; found there: {near}")
        for kind, start, end in got:
            if (kind, start, end) not in expected:
                key = (kind, "false positive")
                if shown.get(key, 0) < limit:
                    shown[key] = shown.get(key, 0) + 1
                    lines.append(f"  {kind} false positive: {text[start:end]!r} in {text[:90]!r}")
    print(f"\n{name}: first exact-span errors per type")
    for line in sorted(lines):
        print(line)


def main():
    corpus_path = Path(sys.argv[1])
    corpus = load_jsonl(corpus_path)
    rampart_findings = load_jsonl(corpus_path.with_suffix(".rampart.jsonl"))
    rampart_summary = json.loads(corpus_path.with_suffix(".rampart.json").read_text())
    assert len(corpus) == len(rampart_findings), "corpus and findings differ in length"
    texts = [item["text"] for item in corpus]
    assert all(t.isascii() for t in texts), "the corpus must be ASCII (byte offsets = char offsets)"

    analyzer, entities, mode = build_analyzer()
    print(f"Presidio mode: {mode}")

    # Warm up, then estimate the speed on texts spread over the corpus to decide on a subset.
    for text in texts[:20]:
        analyzer.analyze(text=text, language="en", entities=entities)
    probe = texts[:: max(1, len(texts) // 200)]
    started = time.perf_counter()
    for text in probe:
        analyzer.analyze(text=text, language="en", entities=entities)
    probe_seconds = time.perf_counter() - started
    probe_mb_s = sum(map(len, probe)) / probe_seconds / 1e6
    projected = probe_seconds / len(probe) * len(texts)
    indices = list(range(len(texts)))
    subset_note = f"all {len(texts)} texts"
    if probe_mb_s < SLOW_MB_S:
        # Slow: keep the run within the budget, on at least MIN_SUBSET texts spread evenly.
        keep = max(MIN_SUBSET, int(len(texts) * min(1.0, BUDGET_S / projected)))
        if keep < len(texts):
            step = len(texts) / keep
            indices = sorted({int(i * step) for i in range(keep)})
            subset_note = f"a subset of {len(indices)} texts spread over the corpus (Presidio probed at {probe_mb_s:.3f} MB/s < {SLOW_MB_S} MB/s)"
        else:
            subset_note += f" (Presidio probed at {probe_mb_s:.3f} MB/s < {SLOW_MB_S} MB/s, but the whole corpus fits the {BUDGET_S} s budget: about {projected:.0f} s)"

    presidio, presidio_05 = [], []
    started = time.perf_counter()
    for i in indices:
        results = analyzer.analyze(text=texts[i], language="en", entities=entities)
        found = [(PRESIDIO_TYPES[r.entity_type], r.start, r.end, r.score) for r in results if r.entity_type in PRESIDIO_TYPES]
        presidio.append([(k, s, e) for k, s, e, _ in found])
        presidio_05.append([(k, s, e) for k, s, e, score in found if score >= 0.5])
    seconds = time.perf_counter() - started
    subset_bytes = sum(len(texts[i]) for i in indices)
    presidio_mb_s = subset_bytes / seconds / 1e6
    presidio_us = seconds * 1e6 / len(indices)

    gold = [spans_of(corpus[i]["spans"]) for i in indices]
    rampart = [spans_of(rampart_findings[i]["findings"]) for i in indices]
    sub_texts = [texts[i] for i in indices]
    positives = sum(1 for g in gold if g)
    values = sum(len(g) for g in gold)
    print(
        f"corpus: {len(texts)} texts, {sum(map(len, texts))} bytes; scored on {subset_note}: "
        f"{positives} texts with {values} labeled values, {len(gold) - positives} hard negatives"
    )
    print("Presidio has no recognizer for API keys, tokens, JWTs or private keys: secret is n/a for it.")
    table("exact spans (a finding counts only with the right type and the exact range)", False, gold, rampart, presidio, presidio_05)
    table("overlapping spans (right type, ranges overlap)", True, gold, rampart, presidio, presidio_05)

    examples(sub_texts, gold, rampart, "Rampart")
    examples(sub_texts, gold, presidio, "Presidio")

    rampart_mb_s = rampart_summary["throughput_mb_s"]
    build = "release" if rampart_summary.get("release") else "DEBUG"
    print("\nthroughput (detection only, one text per call, one core):")
    print(
        f"  Rampart  Detector::detect ({build}): {rampart_mb_s:9.3f} MB/s  {rampart_summary['us_per_text']:9.2f} us/text"
        f"  ({rampart_summary['texts']} texts x {rampart_summary['passes']} passes)"
    )
    print(f"  Presidio AnalyzerEngine.analyze:    {presidio_mb_s:9.3f} MB/s  {presidio_us:9.2f} us/text  ({len(indices)} texts, one pass)")
    print(f"  ratio: Rampart is {rampart_mb_s / presidio_mb_s:,.0f}x Presidio's throughput")


if __name__ == "__main__":
    main()
