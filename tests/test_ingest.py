"""Ingestion on small corpora built in tmp_path and on the shipped corpus: real files, no mocks."""

import hashlib
import logging
import os
import time
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from qa_engine.errors import CorpusError
from qa_engine.ingest import (
    SUPPORTED_SUFFIXES,
    IngestIssue,
    clean_markdown,
    ingest_corpus,
    read_document,
)

SHIPPED_CORPUS = Path(__file__).parents[1] / "corpus"

D2L_CELL = """```{{.python .input}}
%%tab {framework}
class MultiHeadAttention(d2l.Module):  #@save
    def __init__(self, num_hiddens, num_heads, dropout, bias=False, **kwargs):
        super().__init__()
```
"""

D2L_PAGE = (
    """```{.python .input}
%load_ext d2lbook.tab
tab.interact_select('mxnet', 'pytorch', 'tensorflow', 'jax')
```

# Multi-Head Attention
:label:`sec_multihead-attention`

In practice, given the same set of queries, keys, and values
we may want our model to combine knowledge from
different behaviors of the same attention mechanism :cite:`Vaswani.Shazeer.Parmar.ea.2017`.
As shown in :numref:`fig_multi-head-attention`, each head attends separately.

![Multi-head attention: heads are concatenated, then linearly transformed](../img/mha.svg)
:label:`fig_multi-head-attention`
:width:`400px`

## [**Implementation**]

Each head computes $\\mathrm{softmax}(\\mathbf{Q}\\mathbf{K}^\\top / \\sqrt{d})\\mathbf{V}$,
as described in the [original paper](https://arxiv.org/abs/1706.03762) by :citet:`Vaswani.Shazeer.Parmar.ea.2017`.

"""
    + "\n".join(D2L_CELL.format(framework=f) for f in ("mxnet", "pytorch", "tensorflow", "jax"))
    + """
:begin_tab:`pytorch`
[Discussions](https://discuss.d2l.ai/t/1635)
:end_tab:
"""
)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def make_pdf(path: Path, pages: list[list[str]], title: str | None = None) -> Path:
    pdf = canvas.Canvas(str(path))
    if title:
        pdf.setTitle(title)
    for lines in pages:
        for i, line in enumerate(lines):
            pdf.drawString(72, 720 - 20 * i, line)
        pdf.showPage()
    pdf.save()
    return path


# ---------------------------------------------------------------- Markdown


def test_d2l_page_keeps_prose_and_drops_code_and_roles(tmp_path):
    path = write(tmp_path / "chapter" / "multihead-attention.md", D2L_PAGE)

    document, issue = read_document(path, tmp_path)

    assert issue is None
    assert document.path == "chapter/multihead-attention.md"
    assert document.title == "Multi-Head Attention"
    text = document.text
    assert text.startswith("Multi-Head Attention\n")
    assert "combine knowledge from\ndifferent behaviors of the same attention mechanism.\n" in text
    assert "As shown in the figure, each head attends separately." in text
    assert "\nMulti-head attention: heads are concatenated, then linearly transformed.\n" in text
    assert "\nImplementation\n" in text
    assert "$\\mathrm{softmax}(\\mathbf{Q}\\mathbf{K}^\\top / \\sqrt{d})\\mathbf{V}$" in text
    assert "as described in the original paper by Vaswani et al." in text
    for leftover in ("MultiHeadAttention", "%%tab", "```", "interact_select", "Discussions", "arxiv.org", "[**"):
        assert leftover not in text
    for role in (":label:", ":cite:", ":numref:", ":width:", ":begin_tab:", "sec_multihead"):
        assert role not in text


def test_mdx_markup_goes_and_its_text_stays():
    mdx = """import Tip from "@site/components/Tip";

<CourseFloatingBanner
    chapter={1}
    classNames="absolute z-10 right-0 top-0"
/>

# How do *Transformers* work?[[how-do-transformers-work]]

{/* editors only */}
<!-- hidden note -->
<Youtube id="MUqNwgPjJvQ" />

<Tip>
Encoders see the **whole** sentence, decoders only the _past_.
</Tip>

> [!TIP]
> The special token &lt;cls&gt; summarizes the sequence.

<div class="flex justify-center">
<img class="block dark:hidden" src="light.svg" alt="Architecture of a Transformer">
<img class="hidden dark:block" src="dark.svg" alt="Architecture of a Transformer">
</div>

| Model | Complexity per layer |
|-------|----------------------|
| Self-attention | $O(n^2 \\cdot d)$ |
| Recurrent | $O(n \\cdot d^2)$ |

Masking keeps $1 \\leq i<j\\leq n$ and $a*b*c$ as written.

~~~
print("tilde fenced code")
~~~
"""
    text = clean_markdown(mdx)

    assert text.splitlines()[0] == "How do Transformers work?"
    assert "Encoders see the whole sentence, decoders only the past." in text
    assert "The special token <cls> summarizes the sequence." in text
    assert text.count("Architecture of a Transformer") == 1
    table = "Model | Complexity per layer\nSelf-attention | $O(n^2 \\cdot d)$\nRecurrent | $O(n \\cdot d^2)$"
    assert table in text
    assert "Masking keeps $1 \\leq i<j\\leq n$ and $a*b*c$ as written." in text
    markup = ("import", "editors only", "hidden note", "Youtube", "<", "[!TIP]", "[[", "---", "tilde", "\n\n\n")
    for leftover in markup:
        assert leftover not in text.replace("<j", "").replace("<cls>", "")


def test_clean_markdown_tidies_whitespace():
    assert clean_markdown("# Title   \r\n\r\n\r\n\r\nBody line.  \r\n") == "Title\n\nBody line."


def test_a_hard_line_break_ends_its_line_outside_math():
    text = "> **Zorbs: Rolling Fast**\\\n> Ada Lovelace*, Alan Turing*\\\n> Paper: here\n\nCost $a \\\\ b$ stays."
    assert clean_markdown(text) == "Zorbs: Rolling Fast\n\nAda Lovelace*, Alan Turing*\n\nPaper: here\n\nCost $a \\\\ b$ stays."


def test_code_ends_a_paragraph_and_escapes_are_their_characters():
    """Prose before and after a code block is two paragraphs, not one run-on sentence ("Now you
    can do The release also ..."); markdown's backslash escapes stand for the character."""
    text = "Zorbs now roll faster. Now you can do\n```\nzorb.roll()\n```\nThe release also adds quiffles.\n\n**\\*\\* New: zorb 2 \\*\\***"
    assert clean_markdown(text) == "Zorbs now roll faster. Now you can do\n\nThe release also adds quiffles.\n\n** New: zorb 2 **"


# ---------------------------------------------------------------- PDF and LaTeX


def test_pdf_text_and_title_come_through(tmp_path):
    titled = make_pdf(
        tmp_path / "paper.pdf",
        [
            ["Scaled dot-product attention divides the scores by the square root of d_k.",
             "Multi-head attention runs several attention functions in parallel."],
            ["The second page explains sinusoidal positional encodings."],
        ],
        title="Attention Notes",
    )
    make_pdf(tmp_path / "report.pdf", [["A report about additive attention", "by someone."]])

    result = ingest_corpus(tmp_path)

    assert result.issues == []
    paper, report = result.documents
    assert (paper.path, paper.title) == ("paper.pdf", "Attention Notes")
    assert paper.text == (  # lines 20 pt apart are paragraphs; the second page continues the last one
        "Scaled dot-product attention divides the scores by the square root of d_k.\n\n"
        "Multi-head attention runs several attention functions in parallel. "
        "The second page explains sinusoidal positional encodings."
    )
    assert paper.pages == ((0, 1), (paper.text.index("The second"), 2))
    assert paper.sha256 == hashlib.sha256(titled.read_bytes()).hexdigest()
    assert paper.size == titled.stat().st_size
    assert (report.path, report.title) == ("report.pdf", "A report about additive attention")


def test_latex_keeps_prose_structure_and_math(tmp_path):
    tex = r"""\documentclass{article}
\title{Attention in Papers}
\begin{document}
\maketitle
% reviewers: cut this section?
\section{Introduction}
Attention~\cite{vaswani2017} is \textbf{central} to \emph{modern} models, about 50\% of them. % todo
The scores are $\mathrm{softmax}(QK^\top/\sqrt{d_k})$:
\begin{equation}
  \text{Attention}(Q,K,V) = \mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V
\end{equation}
\begin{figure}[t]
\includegraphics[width=\linewidth]{transformer.png}
\caption{The Transformer.}
\end{figure}
\end{document}
"""
    document, issue = read_document(write(tmp_path / "paper.tex", tex), tmp_path)

    assert issue is None
    assert document.title == "Attention in Papers"
    assert document.text.startswith("Introduction\n\nAttention is central to modern models, about 50% of them.\n")
    assert "$\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})$" in document.text
    assert "\\text{Attention}(Q,K,V) = \\mathrm{softmax}\\left(\\frac{QK^T}{\\sqrt{d_k}}\\right)V" in document.text
    assert "The Transformer." in document.text
    for leftover in ("reviewers", "todo", "\\cite", "vaswani2017", "\\textbf", "figure", "transformer.png"):
        assert leftover not in document.text


# ---------------------------------------------------------------- bad input


def test_each_bad_file_gives_one_issue_and_the_rest_is_read(tmp_path):
    write(tmp_path / "good.md", "# Good\n\nAttention weighs values by query-key similarity.\n")
    write(tmp_path / "notes" / "plain.txt", "\ufeffQueries, keys and values.\r\nSecond line.\r\n")
    write(tmp_path / "french.txt", "Le café de l'attention.\n".encode("latin-1"))
    write(tmp_path / "empty.md", "")
    write(tmp_path / "blank.txt", "  \n\n\t\n")
    write(tmp_path / "x.pdf", os.urandom(512))
    write(tmp_path / "nul.txt", b"text\x00with NUL bytes")
    write(tmp_path / "only_code.md", "```python\nprint('hi')\n```\n")
    write(tmp_path / "big.txt", "attention " * 200)
    write(tmp_path / "LICENSE.md", "MIT License\n\nPermission is hereby granted...\n")
    write(tmp_path / "SOURCES.md", "# Sources\n\nWhere the files came from.\n")
    write(tmp_path / ".hidden" / "draft.md", "# Draft\n\nNot content.\n")
    write(tmp_path / ".notes.md", "# Notes\n\nNot content.\n")
    write(tmp_path / "figure.png", b"\x89PNG\r\n")

    result = ingest_corpus(tmp_path, max_file_mb=0.001)

    issues = {issue.path: issue for issue in result.issues}
    assert len(issues) == len(result.issues)
    assert sorted(issues) == ["big.txt", "blank.txt", "empty.md", "french.txt", "nul.txt", "only_code.md", "x.pdf"]
    assert [d.path for d in result.documents] == ["french.txt", "good.md", "notes/plain.txt"]
    assert issues["empty.md"].reason == issues["blank.txt"].reason == "empty file"
    assert issues["x.pdf"].reason.startswith("not a valid PDF")
    assert issues["nul.txt"].reason == "contains NUL bytes: binary file"
    assert issues["only_code.md"].reason == "no text after cleaning"
    assert issues["big.txt"].reason == "larger than the 0.001 MB limit (qa.max_file_mb in settings.yaml)"
    assert {i.action for p, i in issues.items() if p != "french.txt"} == {"skipped"}
    assert str(issues["french.txt"]) == "french.txt: decoded as latin-1 (not valid UTF-8)"

    french, _, plain = result.documents
    assert french.text == "Le café de l'attention."
    assert plain.text == "Queries, keys and values.\nSecond line."
    assert plain.title == "Queries, keys and values."


def test_issue_reads_as_one_line():
    issue = IngestIssue("papers/x.pdf", "skipped", "not a valid PDF (no %PDF header)")
    assert str(issue) == "papers/x.pdf: skipped (not a valid PDF (no %PDF header))"


def test_broken_pdf_is_skipped_quietly(tmp_path, caplog):
    good = make_pdf(tmp_path / "good.pdf", [["Attention is all you need."]])
    write(tmp_path / "truncated.pdf", good.read_bytes()[:300])
    make_pdf(tmp_path / "blank.pdf", [[]])

    with caplog.at_level(logging.DEBUG):
        result = ingest_corpus(tmp_path)

    assert [d.path for d in result.documents] == ["good.pdf"]
    assert [(i.path, i.action) for i in result.issues] == [("blank.pdf", "skipped"), ("truncated.pdf", "skipped")]
    assert "no extractable text" in result.issues[0].reason
    assert result.issues[1].reason.startswith("not a valid PDF (")
    assert not [r for r in caplog.records if r.name.startswith(("pypdf", "pypdfium2"))]


def test_missing_folder_is_a_corpus_error(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(CorpusError, match="--corpus DIR") as raised:
        ingest_corpus(missing)
    assert f"corpus folder {missing} does not exist" in str(raised.value)


def test_folder_without_supported_files_is_a_corpus_error(tmp_path):
    write(tmp_path / "figure.png", b"\x89PNG\r\n")
    write(tmp_path / "notes.docx", b"PK\x03\x04")
    write(tmp_path / "LICENSE.md", "MIT License\n")

    with pytest.raises(CorpusError) as raised:
        ingest_corpus(tmp_path)
    message = str(raised.value)
    assert str(tmp_path) in message
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)


def test_folder_where_every_file_is_skipped_lists_the_issues(tmp_path):
    write(tmp_path / "empty.md", "")
    write(tmp_path / "x.pdf", b"not a pdf at all")

    with pytest.raises(CorpusError) as raised:
        ingest_corpus(tmp_path)
    message = str(raised.value)
    assert str(tmp_path) in message
    assert "empty.md: skipped (empty file)" in message
    assert "x.pdf: skipped (not a valid PDF" in message


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    write(tmp_path / "a.md", "# A\n\nSome prose about attention.\n")

    ingest_corpus(tmp_path, progress=True)

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "1/1" in captured.err


# ---------------------------------------------------------------- the shipped corpus


def test_shipped_corpus_is_clean_prose():
    started = time.perf_counter()
    result = ingest_corpus(SHIPPED_CORPUS)
    elapsed = time.perf_counter() - started

    assert elapsed < 2.0
    assert result.issues == []
    assert len(result.documents) >= 20
    paths = [d.path for d in result.documents]
    assert paths == sorted(paths)
    assert not [p for p in paths if "LICENSE" in p or "SOURCES" in p]
    for document in result.documents:
        assert len(document.text) > 200, document.path
        for markup in ("%%tab", "```", ":label:", ":cite:", ":numref:", "<div", "<Youtube", "[[", "]("):
            assert markup not in document.text, (document.path, markup)

    bert = next(d for d in result.documents if d.path.endswith("bert.md"))
    first_heading = (SHIPPED_CORPUS / bert.path).read_text(encoding="utf-8").splitlines()[0]
    assert bert.title == first_heading.removeprefix("# ")
    assert bert.title == "Bidirectional Encoder Representations from Transformers (BERT)"
    assert ingest_corpus(SHIPPED_CORPUS) == result


def test_tokenizer_special_tokens_cannot_fail_the_build(tmp_path):
    """graphrag's tiktoken chunker raises on `<|endoftext|>`; ingest spells such markers out."""
    import tiktoken

    (tmp_path / "gpt.md").write_text("# GPT\n\nGPT-2 ends each document with <|endoftext|> during pretraining.\n")
    text = ingest_corpus(tmp_path).documents[0].text
    assert "<|endoftext|>" not in text and "endoftext" in text
    tiktoken.get_encoding("cl100k_base").encode(text)  # what graphrag's chunker does: must not raise
