"""Which corpus sentences the extractive answerer may quote, and what follows them."""

from qa_engine.sentences import is_claim, normalize, sentence_spans, successors

PASSAGE = """Multi-Head Attention
In practice, we may want the model to combine knowledge from different behaviors of the same
attention mechanism. Multi-head attention combines knowledge of the same attention pooling via
different representation subspaces. Each head is computed as $h_i = f(W_i q)$ for every head.

Exercises
Suppose that we have a trained model based on multi-head attention and we want to prune heads."""


def test_sentences_skip_the_heading_and_end_at_blank_lines():
    sentences = [normalize(PASSAGE[a:b]) for a, b in sentence_spans(PASSAGE)]
    assert sentences[0].startswith("In practice, we may want")
    assert "Multi-Head Attention In practice" not in " ".join(sentences)
    assert sentences[2] == "Each head is computed as $h_i = f(W_i q)$ for every head."


def test_successors_stay_inside_a_paragraph():
    following = successors([PASSAGE])
    first = "In practice, we may want the model to combine knowledge from different behaviors of the same attention mechanism."
    assert following[first].startswith("Multi-head attention combines")
    last = "Each head is computed as $h_i = f(W_i q)$ for every head."
    assert last not in following  # the exercise after the blank line is not its continuation


def test_exercises_questions_fragments_and_cut_formulas_are_not_claims():
    assert is_claim("Multi-head attention combines knowledge of the same attention pooling.")
    assert is_claim("The cost is $O(n^2)$ per layer and $$x = 1$$ holds.")
    assert not is_claim("Suppose that we have a trained model based on multi-head attention.")
    assert not is_claim("Why are memory requirements high for long sequences?")
    assert not is_claim("of the multi-head attention is that it is permutation-equivariant.")
    assert not is_claim("Given a query $q$, each head is computed as $$h_i = f(W q")
