"""Shared test setup: offline guard, a small real corpus and an index built from it once."""

import shutil
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_engine.config import load_settings  # noqa: E402

# Real documents of the shipped corpus: small enough to index in seconds, rich enough for search.
FIXTURE_FILES = [
    "d2l/chapter_attention-mechanisms-and-transformers/multihead-attention.md",
    "d2l/chapter_attention-mechanisms-and-transformers/attention-scoring-functions.md",
    "d2l/chapter_recurrent-modern/encoder-decoder.md",
    "seeds/000_e75c50be2a868c85.txt",
]

_LOOPBACK = ("127.", "::1", "localhost")
_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else str(address)
    if self.family == socket.AF_UNIX or str(host).startswith(_LOOPBACK):
        return _real_connect(self, address)
    raise RuntimeError(f"test tried to reach the network ({address}): everything must work offline")


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Fail any connection that is not to this machine: the offline default is a promise."""
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


def copy_fixture_corpus(target: Path) -> Path:
    for rel in FIXTURE_FILES:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "corpus" / rel, target / rel)
    return target


@pytest.fixture(scope="session")
def fixture_corpus(tmp_path_factory) -> Path:
    return copy_fixture_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def fixture_settings(tmp_path_factory, fixture_corpus):
    """Project settings pointed at the fixture corpus and a temporary index and cache."""
    work = tmp_path_factory.mktemp("work")
    settings = load_settings(ROOT / "settings.yaml").with_paths(corpus=fixture_corpus, index=work / "index" / "default")
    settings.graphrag.cache.storage.base_dir = str(work / "cache")
    return settings


@pytest.fixture(scope="session")
def fixture_index(fixture_settings) -> Path:
    """An index built once per test session by the real pipeline."""
    from qa_engine.indexer import build_index

    return build_index(fixture_settings, progress=False).index_dir


@pytest.fixture(scope="session")
def engine(fixture_settings, fixture_index):
    from qa_engine import QAEngine

    return QAEngine.load(fixture_index, fixture_settings)
