"""GraphRAG question answering over attention literature."""


from qa_engine.config import use_offline_environment

use_offline_environment()  # before anything imports litellm, tiktoken or huggingface_hub

from qa_engine.engine import QAEngine  # noqa: E402
from qa_engine.results import Answer, Citations, Evidence  # noqa: E402

__all__ = ["QAEngine", "Answer", "Citations", "Evidence"]
