"""Entity types in the domain scheme (qa_engine.domain.ENTITY_TYPES), for known and unknown entities.

A vocabulary term has its own type. Any other entity is typed by what its sentences say it is
("Mamba is a selective state space model", "the BigBird model"), by its head noun ("LSH
attention", "gating network"), then by its shape ("Nyströmformer"); CONCEPT when nothing says.
"""

from __future__ import annotations

from collections import Counter

from spacy.tokens import Span

from qa_engine.aliases import common_words, singularize
from qa_engine.domain import VOCABULARY

TYPES: dict[str, str] = {term.title: term.type for term in VOCABULARY}

# Head nouns, singular, with the type a phrase ending in them gets.
HEADS: dict[str, str] = {
    "attention": "ATTENTION_MECHANISM",
    **dict.fromkeys(
        ["model", "network", "net", "perceptron", "autoencoder", "estimator", "transformer", "architecture"], "MODEL"
    ),
    **dict.fromkeys(
        ["layer", "sublayer", "encoding", "embedding", "normalization", "encoder", "decoder", "head", "block",
         "connection", "matrix", "vector", "unit", "mask", "state", "kernel", "cache", "memory"],
        "ARCHITECTURE_COMPONENT",
    ),
    **dict.fromkeys(
        ["search", "learning", "pooling", "regression", "decoding", "tuning", "prompting", "optimization",
         "initialization", "estimation", "sampling", "distillation", "scheduler", "clipping", "masking",
         "objective", "strategy", "trick", "method", "technique", "algorithm", "scheme", "hashing",
         "quantization", "approximation", "pretraining", "training"],
        "TECHNIQUE",
    ),
    **dict.fromkeys(["loss", "metric", "score", "perplexity", "error"], "METRIC"),
    **dict.fromkeys(
        ["classification", "translation", "recognition", "detection", "segmentation", "generation",
         "answering", "summarization", "tagging", "modeling"],
        "TASK",
    ),
    **dict.fromkeys(["dataset", "corpus", "benchmark"], "DATASET"),
    **dict.fromkeys(["function", "distribution", "problem"], "CONCEPT"),
}
_CONTEXT_TYPES = frozenset({"MODEL", "DATASET", "METRIC"})  # "the X model", "the X dataset" say what X is
COPULA = frozenset({"is", "are", "was", "were", "be", "been", "being", "'s"})
_THANKS = frozenset({"thanks", "thank", "thanked", "grateful"})


def head_type(word: str) -> str | None:
    """The type a head noun gives: 'networks' -> MODEL; names of the '-former' family are models."""
    lower = singularize(word.lower())
    return HEADS.get(lower) or ("MODEL" if lower.endswith("former") and len(lower) > 6 else None)


def sentence_type(span: Span) -> str | None:
    """What the sentence says the mention is: 'X is a ... model', 'X, a ... model', 'the X model',
    'X et al.', 'developed by X', 'thanks to X' (a person)."""
    if not len(span):
        return None
    root = span.root
    if span.doc.text[span.end_char :].lstrip().startswith("et al") or _credited(span):
        return "PERSON"
    if root.dep_ in {"nsubj", "nsubjpass"} and root.head.lower_ in COPULA:
        for child in root.head.children:
            if child.dep_ == "attr" and (kind := head_type(child.text)):
                return kind
    for child in root.children:
        if child.dep_ == "appos" and (kind := head_type(child.text)):
            return kind
    if root.dep_ == "compound" and root.head.i > span.end - 1:
        kind = head_type(root.head.text)
        return kind if kind in _CONTEXT_TYPES else None
    return None


def _credited(span: Span) -> bool:
    """'developed by Diego Antognini', 'thanks to Aran Komatsuzaki': a name of two or three
    capitalized words, without an article, that a passive verb's agent or a thanks credits; not one
    that ends in an everyday word ('Google Research')."""
    root = span.root
    if not 2 <= len(span) <= 3 or not all(t.is_alpha and t.text[0].isupper() and t.tag_ == "NNP" for t in span):
        return False
    if root.dep_ != "pobj" or any(child.dep_ == "det" for child in root.children):
        return False
    by, to = root.head.lower_ == "by" and root.head.dep_ == "agent", root.head.lower_ == "to" and root.head.head.lower_ in _THANKS
    return (by or to) and root.lower_ not in common_words()


def entity_type(names: list[str], votes: Counter[str]) -> str:
    """Vocabulary, then the head noun of its title or another spelling ('LSH attention', 'Linformer',
    'LSH' for 'locality-sensitive hashing'), then its sentences; else CONCEPT. `names`: title first."""
    if names[0] in TYPES:
        return TYPES[names[0]]
    for name in names:
        if own := head_type(name.replace("-", " ").split()[-1]):
            return own
    if votes:
        return max(votes.items(), key=lambda item: (item[1], item[0]))[0]
    return "CONCEPT"
