"""Settings: graphrag's own config plus the `qa:` section, and the offline environment."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from qa_engine.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETTINGS = PROJECT_ROOT / "settings.yaml"


def use_offline_environment() -> None:
    """Keep every library on local files: no hub lookups, no cost-map or BPE downloads.

    tiktoken fetches its BPE files on first use unless TIKTOKEN_CACHE_DIR points at a
    copy; litellm ships cl100k/o200k, so we point there without importing litellm (slow).
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        spec = importlib.util.find_spec("litellm")
        if spec and spec.origin:
            bundled = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
            os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled)


@dataclass(frozen=True)
class QASettings:
    """The `qa:` section: what graphrag has no setting for."""

    corpus: Path
    index: Path
    method: str = "fast"
    max_file_mb: float = 20.0
    search: str = "graph"
    reranker: str = "late-interaction"
    answerer: str = "extractive"
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_timeout_s: float = 30.0
    llm_max_tokens: int = 700
    top_k_entities: int = 10
    top_k_text_units: int = 16
    max_context_tokens: int = 3000


@dataclass(frozen=True)
class Settings:
    path: Path
    graphrag: Any  # graphrag.config.models.graph_rag_config.GraphRagConfig (imported lazily: slow)
    qa: QASettings

    def with_paths(self, corpus: Path | None = None, index: Path | None = None) -> Settings:
        """The same settings pointed at another corpus or index folder (CLI overrides)."""
        qa = replace(
            self.qa,
            corpus=_absolute(corpus) if corpus else self.qa.corpus,
            index=_absolute(index) if index else self.qa.index,
        )
        return replace(self, qa=qa)


def load_settings(path: str | Path | None = None) -> Settings:
    """Read settings.yaml; every error names the file and the setting to fix."""
    use_offline_environment()
    path = Path(path or os.environ.get("QA_ENGINE_SETTINGS") or DEFAULT_SETTINGS).resolve()
    if not path.is_file():
        raise SettingsError(f"settings file {path} not found: pass --settings FILE or copy settings.yaml from the project")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise SettingsError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(values, dict):
        raise SettingsError(f"{path} must hold a mapping of settings at the top level")
    qa = _qa_settings(values.pop("qa", None) or {}, path)
    _resolve_relative_paths(values, path.parent)
    values.setdefault("vector_store", {})["db_uri"] = str(qa.index)
    _inject_api_keys(values, qa.llm_api_key_env)

    from graphrag.config.models.graph_rag_config import GraphRagConfig
    from pydantic import ValidationError

    try:
        config = GraphRagConfig.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"{path}: setting '{where}': {first['msg']}") from None
    return Settings(path=path, graphrag=config, qa=qa)


def _qa_settings(raw: dict, path: Path) -> QASettings:
    known = {f.name for f in fields(QASettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SettingsError(f"{path}: unknown setting qa.{unknown[0]} (known: {', '.join(sorted(known))})")
    base = path.parent
    raw = dict(raw)
    raw["corpus"] = _absolute(base / raw.get("corpus", "corpus"))
    raw["index"] = _absolute(base / raw.get("index", "index/default"))
    if raw.get("answerer", "extractive") not in ("extractive", "llm"):
        raise SettingsError(f"{path}: qa.answerer must be 'extractive' or 'llm', not {raw['answerer']!r}")
    if raw.get("search", "graph") not in ("graph", "local"):
        raise SettingsError(f"{path}: qa.search must be 'graph' or 'local', not {raw['search']!r}")
    if raw.get("method", "fast") not in ("fast", "standard"):
        raise SettingsError(f"{path}: qa.method must be 'fast' or 'standard', not {raw['method']!r}")
    try:
        return QASettings(**raw)
    except TypeError as err:
        raise SettingsError(f"{path}: qa section: {err}") from None


def _absolute(path: str | Path) -> Path:
    """Absolute but not resolved: the index path is a symlink swapped by each build."""
    return Path(os.path.abspath(Path(path).expanduser()))


def _inject_api_keys(values: dict, env_name: str) -> None:
    """Keys live in the environment variable named by qa.llm_api_key_env, never in files.

    graphrag insists on a key for every litellm model; local servers (Ollama, vLLM)
    accept any, so an unset variable becomes a placeholder rather than an error.
    """
    key = os.environ.get(env_name) or "no-key-set"
    for section in ("completion_models", "embedding_models"):
        for model in (values.get(section) or {}).values():
            if isinstance(model, dict) and model.get("type", "litellm") == "litellm" and not model.get("api_key"):
                model["api_key"] = key


def _resolve_relative_paths(values: dict, base: Path) -> None:
    """graphrag resolves base_dir against the working directory; we anchor it to the settings file."""
    for section in ("cache", "reporting", "output_storage", "input_storage"):
        block = values.get(section) or {}
        storage = block.get("storage", block) if section == "cache" else block
        if isinstance(storage, dict) and storage.get("base_dir"):
            storage["base_dir"] = str((base / storage["base_dir"]).resolve())
