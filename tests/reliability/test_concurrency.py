"""Concurrency and endurance: one QAEngine shared by 8 threads answers exactly as it does one
question at a time, and 200 questions in a row leave resident memory where it was."""

from __future__ import annotations

import gc
import os
import random
import threading
from collections import defaultdict

import pytest

QUESTIONS = [
    "What does multi-head attention do?",
    "Why are attention scores scaled by the square root of the dimension?",
    "How does the encoder-decoder architecture work?",
    "What is additive attention?",
    "How are queries, keys and values computed in multi-head attention?",
    "What is the scaled dot-product attention scoring function?",
    "What does the decoder do with the context vector?",
    "How does masked softmax handle padding tokens?",
    "What is the role of the softmax in attention pooling?",
    "Why do we use several attention heads instead of one?",
    "What are the learnable parameters of multi-head attention?",
    "How is the output of the attention heads combined?",
    "What is the difference between additive and dot-product attention?",
    "What does the encoder output?",
    "How does sequence to sequence learning use an encoder and a decoder?",
    "attention",
    "softmax temperature",
    "What is a banana bread recipe?",
    "Who won the football world cup in 1998?",
    "多头注意力是什么？",
    "<script>alert(1)</script>",
    "What does multi-head attention do? " * 100,
    "How are attention weights normalized?",
    "What is the dimension of the keys in scaled dot-product attention?",
    "Which components does a Transformer block have?",
]
THREADS = 8


def _outcome(answer) -> tuple:
    return answer.text, answer.citations, answer.abstained


@pytest.fixture(scope="module")
def one_by_one(engine) -> dict[str, tuple]:
    """Each question asked alone, in order: the reference (and the warm-up for memory)."""
    return {q: _outcome(engine.ask(q)) for q in QUESTIONS}


def test_eight_threads_get_the_answers_of_one_thread(engine, one_by_one):
    assert len(set(QUESTIONS)) == len(QUESTIONS) == 25
    results: dict[str, list[tuple]] = defaultdict(list)
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def worker(seed: int) -> None:
        order = list(QUESTIONS)
        random.Random(seed).shuffle(order)  # each thread its own order
        start.wait()
        for question in order:
            try:
                results[question].append(_outcome(engine.ask(question)))
            except Exception as err:  # noqa: BLE001 - every failure is reported below
                errors.append(f"{question[:60]!r}: {err.__class__.__name__}: {err}")

    threads = [threading.Thread(target=worker, args=(seed,), daemon=True) for seed in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a thread is still answering after 10 minutes"
    assert not errors, errors[:5]
    for question in QUESTIONS:
        got = results[question]
        assert len(got) == THREADS, question
        differing = [g for g in got if g != one_by_one[question]]
        assert not differing, f"{question[:60]!r}: {len(differing)} of {THREADS} threads got another answer"


def _resident_bytes() -> int:
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_two_hundred_questions_do_not_grow_memory(engine, one_by_one):
    """After the warm-up (the 25 reference questions), 200 distinct questions in a row grow
    resident memory by under 10%: distinct, so no per-question cache can hide a leak."""
    gc.collect()
    before = _resident_bytes()
    for i in range(200):
        engine.ask(f"{QUESTIONS[i % len(QUESTIONS)][:120]} (variant {i})")
    gc.collect()
    after = _resident_bytes()
    growth = (after - before) / before
    assert growth < 0.10, f"resident memory grew {growth:.1%}: {before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB"
