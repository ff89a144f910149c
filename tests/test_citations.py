"""graphrag-style citations: written, parsed and checked against the evidence given."""

import pytest

from qa_engine.citations import MAX_IDS, format_citation, parse_block, verify
from qa_engine.results import Citations

ALLOWED = Citations(entities=(5, 7, 8), relationships=(23,), reports=(3,), sources=(15, 16))


# -- format ----------------------------------------------------------------------------------


def test_format_in_graphrag_order_and_omits_empty_kinds():
    citations = Citations(entities=(5, 7), relationships=(23,), sources=(15,))
    assert format_citation(citations) == "[Data: Entities (5, 7); Relationships (23); Sources (15)]"
    assert format_citation(Citations(reports=(3,))) == "[Data: Reports (3)]"
    assert format_citation(Citations()) == ""


def test_format_more_than_five_ids_ends_with_more():
    assert MAX_IDS == 5
    assert format_citation(Citations(entities=tuple(range(1, 6)))) == "[Data: Entities (1, 2, 3, 4, 5)]"
    assert format_citation(Citations(relationships=tuple(range(1, 9)))) == "[Data: Relationships (1, 2, 3, 4, 5, +more)]"


# -- parse -----------------------------------------------------------------------------------


def test_parse_block_reads_every_kind_and_skips_more():
    found, unreadable = parse_block("Entities (5, 7); Relationships (23, +more); Reports (3); Sources (15)")
    assert found == Citations(entities=(5, 7), relationships=(23,), reports=(3,), sources=(15,))
    assert unreadable == []


def test_parse_block_is_case_insensitive_and_tolerates_spacing():
    found, unreadable = parse_block("entities(5 ,7) ;SOURCES ( 15 )")
    assert found == Citations(entities=(5, 7), sources=(15,))
    assert unreadable == []


def test_parse_block_reports_what_it_cannot_read():
    found, unreadable = parse_block("Documents (3); Entities (five, 5)")
    assert found == Citations(entities=(5,))
    assert unreadable == ["Documents (3)", "Entities (five)"]


# -- verify ----------------------------------------------------------------------------------


def test_unknown_ids_are_removed_and_named_in_warnings():
    text, cited, warnings = verify("Heads attend in parallel [Data: Entities (5, 99999); Sources (15, 404)].", ALLOWED)
    assert text == "Heads attend in parallel [Data: Entities (5); Sources (15)]."
    assert cited == Citations(entities=(5,), sources=(15,))
    assert warnings == [
        "removed citation Entities (99999): not in the evidence given",
        "removed citation Sources (404): not in the evidence given",
    ]


def test_a_block_with_nothing_valid_disappears_with_its_space():
    text, cited, warnings = verify("A claim [Data: Relationships (77)]. Another [Data: Reports (3)].", ALLOWED)
    assert text == "A claim. Another [Data: Reports (3)]."
    assert cited == Citations(reports=(3,))
    assert warnings == ["removed citation Relationships (77): not in the evidence given"]


def test_citations_merge_across_blocks_in_order_without_duplicates():
    text, cited, _ = verify("One [Data: Entities (7, 5)]. Two [Data: Entities (5, 8); Sources (16)].", ALLOWED)
    assert cited == Citations(entities=(7, 5, 8), sources=(16,))
    assert text.count("[Data:") == 2


def test_more_than_five_valid_ids_are_all_cited_but_shown_as_more():
    allowed = Citations(entities=tuple(range(1, 10)))
    text, cited, warnings = verify("Many [Data: Entities (1, 2, 3, 4, 5, 6, 7)].", allowed)
    assert text == "Many [Data: Entities (1, 2, 3, 4, 5, +more)]."
    assert cited.entities == (1, 2, 3, 4, 5, 6, 7)
    assert warnings == []


def test_more_marker_in_the_input_is_not_an_error():
    text, cited, warnings = verify("Claim [Data: Relationships (23, +more)].", ALLOWED)
    assert text == "Claim [Data: Relationships (23)]."
    assert cited == Citations(relationships=(23,))
    assert warnings == []


def test_lowercase_block_is_rewritten_in_canonical_form():
    text, cited, _ = verify("Claim [data: sources (15)].", ALLOWED)
    assert text == "Claim [Data: Sources (15)]."
    assert cited == Citations(sources=(15,))


@pytest.mark.parametrize(
    ("text", "expected", "warned"),
    [
        ("Claim [Data: ].", "Claim.", []),  # empty block
        ("Claim [Data: Entities 5].", "Claim.", []),  # no parentheses: nothing citable
        ("Claim [Data: Documents (3); Entities (5)].", "Claim [Data: Entities (5)].", ["removed citation Documents (3): not a known kind"]),
        ("Claim [Data: Entities (x1)].", "Claim.", ["removed citation Entities (x1): not a known kind"]),
        # a reply cut off at max tokens: the open block is still checked, its invented id still removed
        ("Claim [Data: Entities (5, 99999", "Claim [Data: Entities (5)]", ["removed citation Entities (99999): not in the evidence given"]),
        # an open block ends at the paragraph: the next paragraph is kept
        ("Claim [Data: Entities (5)\n\nNext paragraph.", "Claim [Data: Entities (5)]\n\nNext paragraph.", []),
    ],
)
def test_malformed_blocks_never_leak_unchecked_ids(text, expected, warned):
    cleaned, cited, warnings = verify(text, ALLOWED)
    assert cleaned == expected
    assert warnings == warned
    assert set(cited.entities) <= set(ALLOWED.entities)


@pytest.mark.parametrize(
    "text",
    [
        "Attention weights sum to one.",
        "**Answer**\n\n1. Scaled  dot products:\n   - nested item ; with spacing .\n\n```python\n    x  =  softmax(q @ k.T)\n```",
        "Brackets that are not citations [1] and [Data] and (Entities 5).",
        "",
    ],
)
def test_text_without_citations_is_unchanged(text):
    assert verify(text, ALLOWED) == (text, Citations(), [])


def test_verified_text_verifies_to_itself():
    once, cited, _ = verify("A [Data: Entities (5, 6, 7); Sources (15)]. B [Data: Reports (3, 4)].", ALLOWED)
    assert verify(once, ALLOWED) == (once, cited, [])
