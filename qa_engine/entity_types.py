"""Entity types in the domain scheme (qa_engine.domain.ENTITY_TYPES): from the vocabulary, or the head noun."""

from __future__ import annotations

from qa_engine.domain import VOCABULARY

TYPES: dict[str, str] = {term.title: term.type for term in VOCABULARY}

# Head nouns of open-vocabulary phrases, singular, with the type a phrase ending in them gets.
HEADS: dict[str, str] = {
    **dict.fromkeys(["model", "network", "net", "perceptron", "autoencoder", "estimator"], "MODEL"),
    **dict.fromkeys(
        ["layer", "sublayer", "encoding", "embedding", "normalization", "encoder", "decoder", "head", "block",
         "connection", "matrix", "vector", "unit", "mask", "state", "kernel"],
        "ARCHITECTURE_COMPONENT",
    ),
    **dict.fromkeys(
        ["search", "learning", "pooling", "regression", "decoding", "tuning", "prompting", "optimization",
         "initialization", "estimation", "sampling", "distillation", "scheduler", "clipping", "masking",
         "objective", "strategy", "trick"],
        "TECHNIQUE",
    ),
    **dict.fromkeys(["loss", "metric"], "METRIC"),
    **dict.fromkeys(
        ["classification", "translation", "recognition", "detection", "segmentation", "generation",
         "answering", "summarization", "tagging", "modeling"],
        "TASK",
    ),
    **dict.fromkeys(["dataset", "corpus", "benchmark"], "DATASET"),
    **dict.fromkeys(["function", "distribution", "problem"], "CONCEPT"),
}
COMPOSABLE = (  # "RNN encoder", "decoder self-attention": two known terms that name a third
    {"MODEL", "ARCHITECTURE_COMPONENT", "ATTENTION_MECHANISM"},
    {"ARCHITECTURE_COMPONENT", "ATTENTION_MECHANISM"},
)
