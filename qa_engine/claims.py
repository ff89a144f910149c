"""Claim check: every statement of an answer against the evidence sentences it was given.

LLMs invent: asked whether SVD computes attention scores, SmolLM2 said yes, from evidence
that never names SVD. graphrag checks neither citations nor claims. A claim (a sentence or
bullet of the answer, citations set aside) is supported when some evidence sentence states
it. A verbatim quote does (the extractive answerer only quotes; a quoted sentence may be cut
by a chunk boundary, then the record holds its start or its end). Otherwise each evidence
sentence sharing a content word with the claim is scored: the mean of their MiniLM cosine
and the share of the claim's content words it holds, times the share of the claim's names
(acronyms, capitalised terms) and numbers its record holds, halved when one of the two negates and
the other does not. The best sentence's score decides, at a threshold calibrated on
labelled claims (bench/calibrate_claims.py). A claim that cites ids must be supported by a
sentence of a record it cites: support elsewhere is reported, not credited.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS

from qa_engine import embeddings
from qa_engine.citations import format_citation, parse_block
from qa_engine.results import Citations, Claim, Evidence
from qa_engine.sentences import normalize, sentence_spans

# bench/calibrate_claims.py: chosen on the dev claims (best F1 of the "unsupported" flag); on
# all 78 labelled claims it flags 91% of the unsupported ones with 90% precision (bench/RESULTS.md)
SUPPORTED_AT = 0.75
MARK = "[unsupported]"
NONE_SUPPORTED = "**No claim of this answer is stated in the evidence: do not rely on it.**"
_BLOCK = re.compile(r"\[Data:[^\]]*\]?", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?\]])\s+(?=[\"'(*_]*[A-Z0-9]|\[\d)")  # "[2024/01] X is integrated ..." starts one too
_MARKDOWN = re.compile(r"^\s*(?:#+\s+|[-*+]\s+|\d+[.)]\s+|>\s*)|\*\*|__|`")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NEGATION = frozenset({"not", "no", "never", "cannot", "neither", "nor", "without"})
# framing the answerers write around their claims: not statements about the corpus' subject
_FRAMING = re.compile(
    r"^(?:[^:]{1,60}:\s*)?(?:Related topics in the corpus:|The indexed corpus has no evidence about|the evidence found says nothing about)",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^[^:]{1,60}:\s+(?=\S)")  # "Bahdanau attention: ..." a bullet's label, then its claim
CUT_QUOTE_WORDS = 6  # as few words as sentence_spans keeps in a sentence
CANDIDATES = 12  # sentences sharing the most content words: the only ones worth an encoder pass
_STEM = 5  # words compare by their first letters ("attention", "attends"): truncation stemming


@dataclass(frozen=True)
class _Statement:
    text: str  # the claim, citations and markdown removed
    end: int  # where to mark it in the answer text
    cites: Citations


@dataclass(frozen=True)
class _Sentence:
    text: str
    kind: str
    id: int


@dataclass(frozen=True)
class Checked:
    text: str  # the answer with unsupported claims marked
    claims: list[Claim]
    warnings: list[str]


def check_claims(text: str, evidence: list[Evidence], model) -> Checked:
    """Each claim of `text` scored against the sentences of `evidence` (MiniLM `model`)."""
    statements = split_claims(text)
    sentences = evidence_sentences(evidence)
    quoting = {s.text: _quoting(s.text, evidence) for s in statements}  # an extractive answer's claims all quote
    vectors = claim_vectors(model, [s.text for s in statements if not quoting[s.text]], sentences, evidence)
    claims, warnings = [], []
    for statement in statements:
        claim, warning = _check(statement, sentences, evidence, vectors, quoting[statement.text])
        claims.append(claim)
        if warning:
            warnings.append(warning)
    marked = text
    for statement, claim in sorted(zip(statements, claims, strict=True), key=lambda pair: -pair[0].end):
        if not claim.supported:
            marked = f"{marked[: statement.end]} {MARK}{marked[statement.end :]}"
    if claims and not any(c.supported for c in claims):
        marked = f"{NONE_SUPPORTED}\n\n{marked}"
        warnings.insert(0, "no claim of the answer is stated in the evidence")
    return Checked(marked, claims, warnings)


def split_claims(text: str) -> list[_Statement]:
    """Sentences and bullets, line by line; a citation block covers the sentences of its line
    written since the previous block."""
    statements: list[_Statement] = []
    at = 0
    for line in text.splitlines(keepends=True):
        pending: list[tuple[str, int]] = []
        cut = 0
        for match in [*_SENTENCE_END.finditer(line), None]:
            end = match.start() if match else len(line.rstrip())
            piece = line[cut:end]
            cut = match.end() if match else cut
            blocks = [parse_block(b.group(0)[len("[Data:") :].rstrip("]"))[0] for b in _BLOCK.finditer(piece)]
            claim = _plain(piece)
            if claim:
                pending.append((claim, at + end))
            if blocks:
                cites = Citations()
                for block in blocks:
                    cites = cites.merge(block)
                statements.extend(_Statement(c, e, cites) for c, e in pending)
                pending = []
        statements.extend(_Statement(c, e, Citations()) for c, e in pending)
        at += len(line)
    if len(statements) > 1 and not statements[-1].text.endswith((".", "!")) and statements[-2].text.endswith((".", "!")):
        statements.pop()  # a reply cut at max tokens ends mid-sentence: a fragment, not a claim
    return statements


def _plain(piece: str) -> str:
    """The claim a piece of answer states, or '' for a heading, a lead-in, a question or framing."""
    text = normalize(_MARKDOWN.sub("", _BLOCK.sub("", piece)))
    text = re.sub(r"\s+([.,;:!?])", r"\1", text).strip()
    if len(_WORD.findall(text)) < 3 or text.endswith((":", "?")) or _FRAMING.match(text):
        return ""
    return text


def evidence_sentences(evidence: list[Evidence]) -> list[_Sentence]:
    found = []
    for e in evidence:
        text = e.text or ""
        spans = sentence_spans(text)
        pieces = [normalize(text[a:b]) for a, b in spans] or [normalize(text)]
        found.extend(_Sentence(p, e.kind, e.id) for p in pieces if p)
    return found


def _check(statement: _Statement, sentences: list[_Sentence], evidence: list[Evidence], vectors, quoting: set) -> tuple[Claim, str]:
    scores = sentence_scores(statement.text, sentences, evidence, vectors, quoting)
    best = float(scores.max()) if len(scores) else 0.0
    holding = [s for s, score in zip(sentences, scores, strict=True) if score >= SUPPORTED_AT]
    support = _ids(holding)
    if statement.cites.is_empty():
        supported = best >= SUPPORTED_AT
        warning = "" if supported else f"unsupported claim (no evidence sentence states it): {_quote(statement.text)}"
        return Claim(statement.text, supported, best, support), warning
    cited = _ids([s for s in holding if s.id in getattr(statement.cites, s.kind)])
    cited_scores = [score for s, score in zip(sentences, scores, strict=True) if s.id in getattr(statement.cites, s.kind)]
    cited_best = max(cited_scores, default=0.0)
    if not cited.is_empty():
        return Claim(statement.text, True, float(cited_best), cited), ""
    elsewhere = f"; {format_citation(support)} does" if not support.is_empty() else ""
    warning = f"unsupported claim (the records it cites do not state it{elsewhere}): {_quote(statement.text)}"
    return Claim(statement.text, False, float(cited_best), support), warning


def claim_vectors(model, claims: list[str], sentences: list[_Sentence], evidence: list[Evidence]) -> dict[str, np.ndarray]:
    """MiniLM vectors of the claims that quote nothing and of their candidate sentences, in one
    encoder pass."""
    texts = []
    for claim in claims:
        if not _quoting(claim, evidence) and (picked := _candidates(claim, sentences)):
            texts += [claim] + [sentences[i].text for i in picked]
    texts = list(dict.fromkeys(texts))
    return dict(zip(texts, embeddings.encode(model, texts), strict=True)) if texts else {}


def sentence_scores(
    claim: str, sentences: list[_Sentence], evidence: list[Evidence], vectors: dict[str, np.ndarray], quoting: set | None = None
) -> np.ndarray:
    """Support of the claim by each sentence, in [0, 1]; 1 for a sentence or record that quotes
    it (`quoting`: those records, when already found)."""
    scores = np.zeros(len(sentences), dtype=np.float32)
    records = _quoting(claim, evidence) if quoting is None else quoting
    if records:
        for i, s in enumerate(sentences):
            if (s.kind, s.id) in records:
                scores[i] = 1.0
        return scores
    words, names, negated = _stems(claim), _names(claim), _negated(claim)
    record_text = {(e.kind, e.id): e.text or "" for e in evidence}
    for i in _candidates(claim, sentences):
        text = sentences[i].text
        cosine = float(vectors[text] @ vectors[claim])
        coverage = len(words & _stems(text)) / len(words)
        # names in the sentence's record: "It supports seq2seq tasks" is about the passage's subject
        held = _names_in(record_text[sentences[i].kind, sentences[i].id], names)
        named = 1.0 - len(names - held) / len(names) if names else 1.0
        agrees = 1.0 if _negated(text) == negated else 0.5
        scores[i] = max(0.0, (cosine + coverage) / 2) * named * agrees
    return scores


def _quoting(claim: str, evidence: list[Evidence]) -> set[tuple[str, int]]:
    """The records that quote the claim (or what follows its label): whole, or its first or last
    words (CUT_QUOTE_WORDS or more) at the record's end or start: a chunk boundary fell inside
    the quoted sentence."""
    found = set()
    for body in dict.fromkeys([claim, _LABEL.sub("", claim)]):
        words = _folded(body).split()
        quoted = " ".join(words)
        for e in evidence:
            text = _folded(e.text or "")
            if quoted in text or _cut_quote(words, text):
                found.add((e.kind, e.id))
    return found


def _cut_quote(words: list[str], text: str) -> bool:
    record = text.split()
    if len(words) <= CUT_QUOTE_WORDS or len(record) < 2:
        return False
    starts = (text, " ".join(record[1:]))  # the chunk may begin mid-word
    ends = (text, " ".join(record[:-1]))  # or end mid-word
    for k in range(len(words) - 1, CUT_QUOTE_WORDS - 1, -1):
        # a tail of k > 1 words can only start a record at one of its first two words, a head end
        # it at one of its last two: only those k are worth joining
        if words[-k] in record[:2] and any(s.startswith(" ".join(words[-k:])) for s in starts):
            return True
        if words[k - 1] in record[-2:] and any(s.endswith(" ".join(words[:k])) for s in ends):
            return True
    return False


def _candidates(claim: str, sentences: list[_Sentence]) -> list[int]:
    words = _stems(claim)
    shared = [len(words & _stems(s.text)) for s in sentences]
    return [int(i) for i in np.argsort(shared, kind="stable")[::-1][:CANDIDATES] if shared[i]]


@lru_cache(maxsize=4096)
def _folded(text: str) -> str:
    """Lower-case words, single-spaced; cached: each record is folded once per answer, not once per claim."""
    return " ".join(_WORD.findall(text.lower()))


def _stems(text: str) -> set[str]:
    return {w.lower()[:_STEM] for w in _WORD.findall(text) if w.lower() not in STOP_WORDS and (len(w) > 2 or w.isdigit())}


def _names(text: str) -> set[str]:
    """Numbers, acronyms and capitalised terms (not the sentence's first word), lower case."""
    words = _WORD.findall(text)
    found = {w for w in words if _NUMBER.fullmatch(w)}
    found |= {w for w in words if sum(c.isupper() for c in w) >= 2 or (any(c.isdigit() for c in w) and w[0].isalpha())}
    found |= {w for w in words[1:] if w[0].isupper() and w.lower() not in STOP_WORDS}
    return {w.lower() for w in found}


def _names_in(text: str, names: set[str]) -> set[str]:
    lowered = _folded(text)
    return {n for n in names if re.search(rf"(?<![a-z0-9]){re.escape(n)}", lowered)}


def _negated(text: str) -> bool:
    lowered = text.lower()
    return bool(_NEGATION & set(_WORD.findall(lowered))) or "n't" in lowered


def _ids(sentences: list[_Sentence]) -> Citations:
    ids: dict[str, list[int]] = {"entities": [], "relationships": [], "reports": [], "sources": []}
    for s in sentences:
        if s.id not in ids[s.kind]:
            ids[s.kind].append(s.id)
    return Citations(**{k: tuple(v) for k, v in ids.items()})


def _quote(text: str) -> str:
    return f'"{text[:157]}..."' if len(text) > 160 else f'"{text}"'
