"""PDF papers: clean prose from two-column pages, pages in citations, references kept apart,
authors as entities, one clear line per bad PDF. Real PDFs drawn by the tests (reportlab),
the real reader (PDFium) and the real index pipeline."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from pdf_papers import APPENDIX, THANKS, gated_attention_paper
from reportlab.pdfgen import canvas

from qa_engine.authors import AUTHORSHIP, add_authors
from qa_engine.ingest import ingest_corpus, read_document
from qa_engine.pdf import read_pdf, text_unit_pages

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "What does the gate of gated attention multiply?"


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paper")
    drawn = gated_attention_paper(folder / "gated.pdf")
    return drawn, read_pdf(drawn.path.read_bytes())


def test_two_column_body_sentences_come_out_intact_and_in_order(paper):
    drawn, read = paper
    positions = [read.text.find(sentence) for sentence in drawn.body]
    assert -1 not in positions, [s for s, p in zip(drawn.body, positions) if p < 0]
    assert positions == sorted(positions)  # left column before right, page 1 before page 2


def test_columns_are_read_left_then_right_whatever_order_they_were_drawn_in(tmp_path):
    from pdf_papers import COLUMN, GUTTER, MARGIN, SENTENCES, wrap

    pdf = canvas.Canvas(str(tmp_path / "reversed.pdf"))
    halves = (" ".join(SENTENCES[:6]), " ".join(SENTENCES[6:12]))
    for column in (1, 0):  # the right column first in the content stream
        pdf.setFont("Times-Roman", 10)
        for i, line in enumerate(wrap(halves[column], COLUMN)):
            pdf.drawString(MARGIN + column * (COLUMN + GUTTER), 700 - 12 * i, line)
    pdf.save()

    text = read_pdf((tmp_path / "reversed.pdf").read_bytes()).text
    positions = [text.find(sentence) for sentence in SENTENCES[:12]]
    assert -1 not in positions and positions == sorted(positions), text


def test_running_header_page_numbers_and_footnote_stay_out_of_sentences(paper):
    drawn, read = paper
    assert drawn.header not in read.text
    assert not re.search(r"(?m)^\s*\d+\s*$", read.text)  # no page number left as a line
    paragraphs = read.text.split("\n\n")
    assert drawn.footnote in paragraphs  # set apart, whole, not spliced into a sentence
    assert drawn.caption in paragraphs
    heading = paragraphs.index("Acknowledgments")  # a heading in body type stands alone, before its text
    assert paragraphs[heading + 1] == THANKS


def test_line_end_hyphens_are_undone_unless_the_word_has_one(paper):
    drawn, read = paper
    assert "self-attention" in [w.strip(".,") for w in drawn.broken], "the drawing breaks a compound at its hyphen"
    everything = "\n".join([read.text, *read.references])
    for word in drawn.broken:
        word = word.strip(".,;:")
        assert re.search(rf"\b{re.escape(word)}\b", everything), word  # "perceptron" whole, "self-attention" kept
    assert not re.search(r"[a-z]- [a-z]", everything)


def test_front_matter_and_references_are_read_apart(paper):
    drawn, read = paper
    assert read.title == drawn.title
    assert read.authors == tuple(drawn.authors)
    assert read.abstract == " ".join(drawn.abstract)
    assert [r.split("] ", 1)[1] for r in read.references] == drawn.references
    for entry in drawn.references:
        assert entry[:40] not in read.text
    assert "References" not in read.text.split("\n\n")
    assert read.text.endswith(f"A Additional Results\n\n{APPENDIX}")  # the appendix after them is text


def test_ligatures_come_out_as_letters(tmp_path):
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVu", str(Path(matplotlib.get_data_path(), "fonts/ttf/DejaVuSans.ttf"))))
    pdf = canvas.Canvas(str(tmp_path / "ligatures.pdf"))
    pdf.setFont("DejaVu", 11)
    pdf.drawString(72, 700, "E\ufb03cient \ufb01ne-tuning of attention layers is the \ufb01rst step.")
    pdf.save()

    text = read_pdf((tmp_path / "ligatures.pdf").read_bytes()).text
    assert text == "Efficient fine-tuning of attention layers is the first step."


def test_pages_of_the_text(paper):
    drawn, read = paper
    assert [page for _, page in read.pages] == [1, 2]
    starts = [offset for offset, _ in read.pages]
    for sentence, page in drawn.page_of.items():
        at = read.text.index(sentence)
        assert max(p for o, p in read.pages if o <= at) == page, sentence
    assert starts[0] == 0


def test_text_units_know_their_pages():
    text = "alpha beta gamma. " * 10 + "delta epsilon zeta. " * 10
    second = text.index("delta")
    documents = pd.DataFrame({
        "id": ["d1", "d2"], "text": [text, "plain notes"],
        "raw_data": [{"page_offsets": [0, second], "page_numbers": [1, 2]}, {"page_offsets": [], "page_numbers": []}],
    })
    chunks = [text[:100], text[90:second + 30], text[second + 5:], "plain notes"]
    units = pd.DataFrame({"id": ["u1", "u2", "u3", "u4"], "human_readable_id": [0, 1, 2, 3],
                          "document_id": ["d1", "d1", "d1", "d2"], "text": chunks})
    assert text_unit_pages(documents, units) == {"u1": (1,), "u2": (1, 2), "u3": (2,)}


# ---------------------------------------------------------------- bad PDFs


def _text_pdf(path: Path, text: str, **options) -> Path:
    pdf = canvas.Canvas(str(path), **options)
    pdf.drawString(72, 720, text)
    pdf.save()
    return path


def test_scanned_encrypted_and_broken_xref_pdfs_each_get_one_clear_line(tmp_path):
    _text_pdf(tmp_path / "good.pdf", "Scaled dot-product attention divides the scores by a square root.")
    scanned = canvas.Canvas(str(tmp_path / "scan.pdf"))  # a page of pixels and strokes, no text
    scanned.drawInlineImage(_gray_image(), 72, 400, 300, 300)
    scanned.rect(72, 72, 400, 200, fill=1)
    scanned.save()
    _text_pdf(tmp_path / "locked.pdf", "Secret attention notes.", encrypt="s3cret")
    raw = _text_pdf(tmp_path / "xref.pdf", "Additive attention scores with a small network.").read_bytes()
    (tmp_path / "xref.pdf").write_bytes(re.sub(rb"startxref\s+\d+", b"startxref\n99999", raw))

    result = ingest_corpus(tmp_path)

    assert [d.path for d in result.documents] == ["good.pdf", "xref.pdf"]
    assert "Additive attention scores" in result.documents[1].text
    issues = {i.path: str(i) for i in result.issues}
    assert sorted(issues) == ["locked.pdf", "scan.pdf", "xref.pdf"]
    assert "encrypted PDF: needs a password" in issues["locked.pdf"]
    assert "no extractable text (scanned or image-only pages): run OCR" in issues["scan.pdf"]
    assert issues["xref.pdf"].startswith("xref.pdf: repaired (broken cross-reference table (xref)")
    assert all("\n" not in line for line in issues.values())


def _gray_image():
    from PIL import Image

    return Image.linear_gradient("L").resize((64, 64))


def test_non_pdf_documents_have_no_pages(tmp_path):
    (tmp_path / "notes.md").write_text("# Notes\n\nAttention weighs values.\n", encoding="utf-8")
    document, issue = read_document(tmp_path / "notes.md", tmp_path)
    assert issue is None and document.pages == () and document.authors == ()


# ---------------------------------------------------------------- through the index


@pytest.fixture(scope="module")
def pdf_engine(tmp_path_factory, fixture_settings):
    from qa_engine import QAEngine
    from qa_engine.indexer import build_index

    root = tmp_path_factory.mktemp("pdf_index")
    corpus = root / "corpus"
    corpus.mkdir()
    gated_attention_paper(corpus / "gated.pdf")
    (corpus / "notes.md").write_text(
        (ROOT / "corpus/d2l/chapter_attention-mechanisms-and-transformers/multihead-attention.md").read_text(),
        encoding="utf-8",
    )
    graphrag = fixture_settings.graphrag.model_copy(deep=True)
    graphrag.cache.storage.base_dir = str(root / "cache")
    settings = replace(fixture_settings, qa=replace(fixture_settings.qa, corpus=corpus, index=root / "index"),
                       graphrag=graphrag)
    build_index(settings, progress=False)
    return QAEngine.load(settings.qa.index, settings)


def test_documents_keep_the_paper_record(pdf_engine):
    documents = pdf_engine.index.documents.set_index("title")
    raw = documents.loc["Gated Attention for Long Documents", "raw_data"]
    assert list(raw["authors"]) == ["Maria Lindqvist", "Tomas Okoye", "Wen Zhao"]
    assert raw["abstract"].startswith("We propose gated attention")
    assert len(raw["references"]) == 3 and list(raw["page_numbers"]) == [1, 2]


def test_answer_from_a_pdf_cites_its_page(pdf_engine, capsys):
    from qa_engine.cli import main

    answer = pdf_engine.ask(QUESTION)
    assert not answer.abstained, answer.text
    pdf_sources = [e for e in answer.evidence if e.kind == "sources" and e.document == "gated.pdf"]
    assert pdf_sources and all(e.page in (1, 2) for e in pdf_sources)
    assert all(e.page is None for e in answer.evidence if e.document == "notes.md" or e.kind != "sources")
    assert any(e.id in answer.citations.sources for e in pdf_sources), answer.text

    settings_file = _settings_file(pdf_engine)
    assert main(["--settings", str(settings_file), "ask", "--json", "--index", str(pdf_engine.index.folder), QUESTION]) == 0
    record = json.loads(capsys.readouterr().out)
    pages = {e["page"] for e in record["evidence"] if e["kind"] == "sources" and e["document"] == "gated.pdf"}
    assert pages and pages <= {1, 2}


def test_chat_source_table_shows_file_and_page(pdf_engine):
    from app.helpers import evidence_tables

    answer = pdf_engine.ask(QUESTION)
    sources = evidence_tables(answer, pdf_engine.index)["sources"]
    files = set(sources["file"])
    assert files & {"gated.pdf p. 1", "gated.pdf p. 2"}, files
    assert not any(f.startswith("notes.md p.") for f in files)


def test_batch_output_carries_pages(pdf_engine):
    from qa_engine.batch import BatchItem, BatchResult, format_md

    result = BatchResult(BatchItem(1, QUESTION), answer=pdf_engine.ask(QUESTION))
    assert all("page" in e for e in result.to_record()["evidence"])
    assert re.search(r"Sources: .*gated\.pdf p\. [12] \(\d+\)", format_md(1, result))


def test_reference_entries_are_never_quoted(pdf_engine):
    for question in ("Who wrote Attention is all you need?",
                     "What is neural machine translation by jointly learning to align and translate?"):
        answer = pdf_engine.ask(question)
        assert "Vaswani, N. Shazeer" not in answer.text
        assert "Bahdanau, K. Cho" not in answer.text
        assert "Neural Information Processing Systems" not in answer.text
    assert not pdf_engine.index.text_units["text"].str.contains("Shazeer and N. Parmar").any()


def test_authors_are_people_linked_to_the_contributions(pdf_engine):
    entities = pdf_engine.index.entities
    people = entities[entities["type"] == "PERSON"]
    assert {"MARIA LINDQVIST", "TOMAS OKOYE", "WEN ZHAO"} <= set(people["title"])
    links = pdf_engine.index.relationships
    targets = set(links[links["source"] == "WEN ZHAO"]["target"])
    assert targets, "an author links to what the paper's title and abstract name"
    assert targets <= set(entities["title"])
    answer = pdf_engine.ask("Who proposed gated attention?")
    assert not answer.abstained and re.search(r"Lindqvist|Okoye|Zhao", answer.text, re.I), answer.text
    answer = pdf_engine.ask("How does gated attention work?")  # who wrote it says nothing of how it works
    assert not answer.abstained and "is an author" not in answer.text and "is by" not in answer.text, answer.text


def test_an_author_the_text_already_names_keeps_one_entity_with_both_papers():
    entities = pd.DataFrame([
        {"title": "ADA LOVELACE", "type": "CONCEPT", "description": "Ada Lovelace wrote Zorbs.", "text_unit_ids": ["u1"], "frequency": 1},
        {"title": "QUIFFLE", "type": "MODEL", "description": "A quiffle spins.", "text_unit_ids": ["u2"], "frequency": 1},
    ])
    documents = pd.DataFrame([{"title": "Quiffle", "raw_data": {"authors": ["Alan Turing", "Ada Lovelace"]}, "text_unit_ids": ["u2"]}])
    units = pd.DataFrame([{"id": "u1", "text": "Ada Lovelace"}, {"id": "u2", "text": "Quiffle. Alan Turing, Ada Lovelace"}])
    people, links = add_authors(entities, pd.DataFrame(columns=["source", "target"]), documents, units)
    ada = people[people["title"].str.lower() == "ada lovelace"]
    assert len(ada) == 1 and ada["type"].iat[0] == "PERSON" and ada["text_unit_ids"].iat[0] == ["u1", "u2"]
    assert "Zorbs" in ada["description"].iat[0] and 'an author, with Alan Turing, of the paper "Quiffle"' in ada["description"].iat[0]
    assert {("ADA LOVELACE", "QUIFFLE"), ("Alan Turing", "QUIFFLE")} <= set(zip(links["source"], links["target"]))
    assert AUTHORSHIP.match('Ada Lovelace is an author, with Alan Turing, of the paper "Quiffle".')
    quiffle = people[people["title"] == "QUIFFLE"]["description"].iat[0]
    assert AUTHORSHIP.match(quiffle.split(". ", 1)[1]) and not AUTHORSHIP.match(quiffle)
    assert quiffle == 'A quiffle spins. The paper "Quiffle" is by Alan Turing and Ada Lovelace.'  # the whole byline on the contribution


def test_the_authors_of_a_paper_a_readme_presents_are_that_papers():
    entities = pd.DataFrame([
        {"title": "ROLLING ZORB", "type": "CONCEPT", "description": "A rolling zorb.", "text_unit_ids": ["u1"], "frequency": 1},
        {"title": "HEAD", "type": "CONCEPT", "description": "A head.", "text_unit_ids": ["u1"], "frequency": 1},
    ])
    raw = {"authors": ["Ada Lovelace"], "paper": "Zorbs Do Not Need Memory", "abstract": "A multi-head rolling zorb as proposed in the paper."}
    documents = pd.DataFrame([{"title": "Zorb Pytorch", "raw_data": raw, "text_unit_ids": ["u1"]}])
    people, links = add_authors(entities, pd.DataFrame(columns=["source", "target"]), documents, pd.DataFrame([{"id": "u1", "text": "Zorbs."}]))
    ada = people[people["title"] == "Ada Lovelace"]["description"].iat[0]
    assert ada == 'Ada Lovelace is an author of the paper "Zorbs Do Not Need Memory", which presents ROLLING ZORB.'  # not HEAD of "multi-head"
    assert set(links["target"]) == {"ROLLING ZORB"}


def _settings_file(engine) -> Path:
    import yaml

    values = yaml.safe_load((ROOT / "settings.yaml").read_text(encoding="utf-8"))
    values["qa"]["index"] = str(engine.index.folder)
    values["cache"]["storage"]["base_dir"] = str(engine.settings.graphrag.cache.storage.base_dir)
    path = engine.index.folder.parent / "settings.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path
