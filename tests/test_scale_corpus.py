"""bench/scale_corpus.grow: x_k holds k x the tokens the pipeline reads, within one added document."""

import shutil
import sys

from conftest import FIXTURE_FILES, ROOT

sys.path.insert(0, str(ROOT / "bench"))

from scale_corpus import grow, prose_tokens  # noqa: E402


def _base(tmp_path):
    base = tmp_path / "base"
    for rel in FIXTURE_FILES:
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "corpus" / rel, base / rel)
    return base


def test_grow_reaches_k_times_the_tokens_within_one_document(tmp_path):
    base = _base(tmp_path)
    grown = grow(tmp_path / "x3", 3, base=base)
    assert grown["added_files"] > 1
    goal = 3 * grown["base_tokens"]
    assert goal <= grown["tokens"] < goal + grown["last_file_tokens"]
    # grow's running count is what ingest reads from the grown corpus as a whole
    assert prose_tokens(tmp_path / "x3") == (grown["prose_chars"], grown["tokens"])


def test_grow_by_one_is_a_copy(tmp_path):
    base = _base(tmp_path)
    grown = grow(tmp_path / "x1", 1, base=base)
    assert grown["added_files"] == 0
    assert grown["tokens"] == grown["base_tokens"] == prose_tokens(base)[1]
