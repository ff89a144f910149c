"""Completion models: graphrag's litellm client for OpenAI-compatible endpoints, and a
`transformers` completion for a chat model on local disk, registered with graphrag_llm.

`chat()` is what the answerer calls; indexing with `--method standard` goes through
graphrag's own workflows, which find the same registered models.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import Any

from qa_engine.errors import SettingsError


def register_completions() -> None:
    from graphrag_llm.completion import register_completion

    register_completion("transformers", _transformers_completion_class(), scope="singleton")


@lru_cache(maxsize=1)
def _transformers_completion_class():
    from graphrag_llm.completion import LLMCompletion
    from graphrag_llm.utils import create_completion_response, structure_completion_response

    class TransformersCompletion(LLMCompletion):
        """A local transformers causal LM behind graphrag's completion interface (chat template)."""

        def __init__(self, *, model_config, tokenizer, metrics_store, **kwargs: Any):
            self._model_path = model_config.model
            self._tokenizer = tokenizer
            self._metrics_store = metrics_store
            self._lock = threading.Lock()
            self._generator = load_local_chat_model(self._model_path)

        def completion(self, /, **kwargs):
            response_format = kwargs.pop("response_format", None)
            max_new = kwargs.get("max_completion_tokens") or kwargs.get("max_tokens") or 512
            with self._lock:
                text = self._generator(list(kwargs["messages"]), int(max_new))
            response = create_completion_response(text)
            if response_format is not None:
                response.formatted_response = structure_completion_response(response.content, response_format)
            return response

        async def completion_async(self, /, **kwargs):
            return self.completion(**kwargs)

        @property
        def metrics_store(self):
            return self._metrics_store

        @property
        def tokenizer(self):
            return self._tokenizer

    return TransformersCompletion


@lru_cache(maxsize=2)
def load_local_chat_model(path: str):
    """A generate(messages, max_new_tokens) function over a local model folder; never downloads."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise SettingsError(
            f"local model {path!r} could not be loaded ({err.__class__.__name__}): "
            "point completion_models.default_completion_model.model at a folder saved with save_pretrained"
        ) from None
    model.eval()

    def generate(messages: list[dict], max_new_tokens: int) -> str:
        import torch

        inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        return tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()

    return generate


def chat_model(graphrag_config, timeout_s: float):
    """The configured completion model, with a bounded timeout and no retries: a slow or
    dead endpoint must fall back to the extractive answer quickly, not retry for minutes."""
    from graphrag_llm.completion import create_completion

    register_completions()
    # graphrag_llm logs a failed request with its traceback (logger.exception), which Python
    # prints to stderr when the application configured no logging; the engine reports the
    # failure as a warning instead. Configured handlers still receive the record.
    _quiet_by_default(logging.getLogger("graphrag_llm"))
    config = graphrag_config.get_completion_model_config("default_completion_model").model_copy(deep=True)
    if config.type != "transformers":
        config.retry = None
        # max_retries: litellm's OpenAI client otherwise retries twice, tripling the wait
        config.call_args = {**config.call_args, "timeout": timeout_s, "max_retries": 0}
    try:
        return create_completion(config, tokenizer=_offline_tokenizer())
    except ValueError as err:
        raise SettingsError(f"completion_models.default_completion_model: {err}") from None


def _quiet_by_default(logger: logging.Logger) -> None:
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _offline_tokenizer():
    """tiktoken cl100k from litellm's bundled files: litellm's own tokenizer lookup may go online."""
    from graphrag_llm.config import TokenizerConfig, TokenizerType
    from graphrag_llm.tokenizer import create_tokenizer

    return create_tokenizer(TokenizerConfig(type=TokenizerType.Tiktoken, encoding_name="cl100k_base"))
