"""Which corpus sentences the extractive answerer may quote, and what follows them."""

from qa_engine.sentences import is_claim, normalize, sentence_spans, successors, unit_sentences, whole_sentences

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
    assert is_claim("Note that tokens outside the sliding window still influence the next word.")  # it states what follows
    assert is_claim("Recall that Mack proved that the zorb estimator is consistent.")
    assert not is_claim("Recall the definition of the zorb estimator from the previous section.")
    assert not is_claim("Suppose that we have a trained model based on multi-head attention.")
    assert not is_claim("Why are memory requirements high for long sequences?")
    assert not is_claim("of the multi-head attention is that it is permutation-equivariant.")
    assert is_claim("num_zorbs is used to set the number of random zorbs.")  # a README's setting, named as code, starts it
    assert not is_claim("Given a query $q$, each head is computed as $$h_i = f(W q")
    assert not is_claim("Using tanh as the activation function, we implement additive attention as follows:")
    assert not is_claim("Hint: we will later see that this is closely related to dot product attention.")


def test_words_to_the_reader_are_not_claims():
    assert not is_claim("If you use Zorbformer in your research, please cite the Zorbformer paper.")
    assert not is_claim("For more information or to download the model, go here.")
    assert not is_claim("- [ ] write the decoder - [x] write the encoder - [ ] train it on enwik8")
    assert not is_claim("Please open an issue if the zorb does not spin.")
    assert is_claim("Zorbformer uses a [CLS] token and sliding window attention of width 512.")


def test_a_pointer_that_states_a_result_is_a_claim():
    """"See the release for ..." points elsewhere, but a value it reports is the corpus's only statement of it."""
    assert is_claim("See the release for a 12M params zorb model on quiffle8 with 0.81 BPC(dev).")
    assert not is_claim("See section 3.2 for details.")  # a reference, not a value
    assert not is_claim("See Table 2.1 for the zorb results.")
    assert not is_claim("Please install zorblib v2.11.0 first.")  # a version is no result
    assert not is_claim("- [ ] reach 0.5 loss on quiffle8")  # a to-do is a plan, not a result


def test_a_tables_header_row_is_part_of_the_table():
    """A results table is read with the names of its columns: its header row is no heading."""
    table = "Method | quiffle8 | zorb-103\n-- | -- | --\nPrevious Best | 1.06 | 20.5\nZorbformer | **0.99** | **18.3**"
    assert [normalize(table[a:b]) for a, b in sentence_spans(table)] == [normalize(table)]
    piped = "| Model | quiffle8 |\n|:---|---:|\n| Zorbformer | 0.99 |"
    assert normalize(piped[slice(*sentence_spans(piped)[0])]).startswith("| Model | quiffle8 |")


DERIVATION = """In math, we calculate the dot product attention as follows:

$$\\text{Attention}(Q,K,V)=\\text{softmax}(QK^T/\\sqrt{d_k})V$$

The matrix multiplication performs the dot product for every pair of queries and keys.

The result is a matrix of attention logits for every pair of elements.

$$x = 1$$"""


def test_a_displayed_formula_completes_the_sentence_that_introduces_it():
    sentences = [normalize(DERIVATION[a:b]) for a, b in sentence_spans(DERIVATION)]
    assert sentences[0].startswith("In math, we calculate") and sentences[0].endswith("\\sqrt{d_k})V$$")
    assert is_claim(sentences[0])
    assert successors([DERIVATION])[sentences[0]].startswith("The matrix multiplication")
    # after a finished sentence a formula stands alone, not glued to it
    assert sentences[-1] == "The result is a matrix of attention logits for every pair of elements."


def test_chunks_cut_mid_sentence_still_quote_whole_sentences():
    document = PASSAGE
    cut = document.index("different representation") + 5  # a chunk border inside the second sentence
    chunks = [document[:cut], document[cut - 20 :]]
    first, second = unit_sentences(document, chunks)
    whole = "Multi-head attention combines knowledge of the same attention pooling via different representation subspaces."
    assert first[-1][2] == whole and first[-1][1] == len(chunks[0])  # the part inside ends at the border
    assert second[0][2] == whole and second[0][0] == 0
    assert chunks[1][second[1][0] : second[1][1]] == "Each head is computed as $h_i = f(W_i q)$ for every head."
    assert unit_sentences(document, ["text that is not in the document"]) is None


def test_a_chunk_cut_mid_sentence_is_shown_with_its_end_sentences_whole():
    document = PASSAGE
    cut = document.index("different representation") + 5
    chunks = [document[:cut], document[cut - 20 :]]
    first, second = (whole_sentences(c, s) for c, s in zip(chunks, unit_sentences(document, chunks), strict=True))
    whole = "Multi-head attention combines knowledge of the same attention pooling via different representation subspaces."
    assert normalize(first).endswith(whole) and normalize(first).startswith(normalize(chunks[0][:30]))
    assert normalize(second).startswith(whole) and normalize(second).endswith(normalize(chunks[1][-30:]))
    assert whole_sentences("A chunk.", []) == "A chunk."


def test_a_sentence_too_short_to_stand_alone_ends_the_one_before_it():
    text = "Remove every zorb whose weight is under 0.2 grams. So it is adaptive.\n\nTune it first."
    assert [normalize(text[a:b]) for a, b in sentence_spans(text)] == [
        "Remove every zorb whose weight is under 0.2 grams. So it is adaptive."
    ]  # "Tune it first." opens its paragraph: a fragment with nothing to end


def test_a_one_word_answer_opens_the_sentence_after_it():
    """An FAQ's "No. The quiffle stays so cold." is its answer, not a fragment: the short word joins
    the sentence after it on its line; a numbered item's "1." and a heading on its own line do not."""
    faq = "Is the quiffle of a zorb warmed?\n\n    No. The quiffle stays so cold. Only the zorb is warmed by the loop."
    assert [normalize(faq[a:b]) for a, b in sentence_spans(faq)] == [
        "Is the quiffle of a zorb warmed?", "No. The quiffle stays so cold.", "Only the zorb is warmed by the loop."
    ]
    numbered = "1. In the zorb approach, the quiffle is warmed once per loop."
    assert [normalize(numbered[a:b]) for a, b in sentence_spans(numbered)] == ["In the zorb approach, the quiffle is warmed once per loop."]
    heading = "Overview.\nThe quiffle is warmed once per loop by the zorb."
    assert [normalize(heading[a:b]) for a, b in sentence_spans(heading)] == ["The quiffle is warmed once per loop by the zorb."]


def test_a_wrapped_line_is_no_heading():
    """A short first line is a heading only when the next line does not carry on its sentence."""
    wrapped = "If the lengths differ, the causal mask is aligned to the\nbottom right corner of the attention matrix."
    assert [normalize(wrapped[a:b]) for a, b in sentence_spans(wrapped)] == [normalize(wrapped)]
    ends_in_of = "Now we provide an overview of the\nTransformer architecture in the figure below, in detail."
    assert [normalize(ends_in_of[a:b]) for a, b in sentence_spans(ends_in_of)] == [normalize(ends_in_of)]
    heading = "Multi-Head Attention\nIn practice, we may want the\nmodel to combine knowledge of heads."
    assert [normalize(heading[a:b]) for a, b in sentence_spans(heading)] == ["In practice, we may want the model to combine knowledge of heads."]


def test_a_list_item_that_is_not_lowercase_starts_a_sentence():
    """The line before a bullet need not end in a stop (a link, an emoji); a lowercase item is
    the rest of its lead-in."""
    updates = "Star the repo if you find this work useful <https://example.org/zorb>\n- [2025.01.18]: We add zorb support for all quiffle models."
    assert [normalize(updates[a:b]) for a, b in sentence_spans(updates)][-1] == "- [2025.01.18]: We add zorb support for all quiffle models."
    after_stop = "The archive holds every trained zorb model we have.\n- Zorbs spin faster when the quiffle is warm."
    assert len(sentence_spans(after_stop)) == 2
    lead_in = "The archive of the zorb release contains these folders:\n- pre_trained/ holds the weights of every zorb"
    assert [normalize(lead_in[a:b]) for a, b in sentence_spans(lead_in)] == [normalize(lead_in)]


def test_a_bracketed_date_after_a_stop_starts_a_sentence():
    """Entity descriptions join sentences of different documents: "... lookup table. [2024.06.07]: ..." is two."""
    text = "ZorbCache splits the quiffle cache into blocks found through a table. [2024.06.07]: ZorbKV largely inspires the quiffle cache of Zorb."
    assert len(sentence_spans(text)) == 2


def test_a_name_initial_ends_no_sentence_a_letter_after_a_word_does():
    """"Markus N. Rabe" and "J. R. Quiffle" are names; "... fewer heads than Q. Note that ..." is two
    sentences: a matrix named by a letter is no initial."""
    cases = {
        "Markus N. Rabe is an author of the paper on zorb memory. It was written by him and by others.": [
            "Markus N. Rabe is an author of the paper on zorb memory.", "It was written by him and by others."
        ],
        "J. R. Quiffle and Daniel Y. Fu wrote the zorb paper together in one summer. It sold.": [
            "J. R. Quiffle and Daniel Y. Fu wrote the zorb paper together in one summer. It sold."
        ],
        "Pass in K and V with fewer heads than Q. Note that the heads of Q must be divisible by those of K.": [
            "Pass in K and V with fewer heads than Q.", "Note that the heads of Q must be divisible by those of K."
        ],
    }
    for text, sentences in cases.items():
        assert [normalize(text[a:b]) for a, b in sentence_spans(text)] == sentences
