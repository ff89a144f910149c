"""Code blocks are indexed as the words they hold (comments, settings with their comments); BibTeX
entries are the document's references, kept apart from its text."""

from __future__ import annotations

from pathlib import Path

from qa_engine.code_words import citations, code_words
from qa_engine.ingest import paper_record, read_document

README = '''# Nyströmformer (NF)

Implementation of Nyström self-attention.

```python
# this comment line is not the title
import torch
from nystrom_attention import NystromAttention

attn = NystromAttention(
    dim = 512,
    num_landmarks = 256,    # number of landmarks
    dim_head = 512 // 8,    # dimension of each head
    pinv_iterations = 6,    # number of moore-penrose iterations for approximating pinverse. 6 was recommended by the paper
    color = "#ff0000",
)
# out = attn(x, mask = mask)
x = torch.randn(1, 16384, 512)  # (1, 16384, 512)
```

```bibtex
@misc{xiong2021nystromformer,
    title   = {Nystr{\\"o}mformer: A Nystr{\\"o}m-Based Algorithm for Approximating Self-Attention},
    author  = {Yunyang Xiong and Zhanpeng Zeng and Vikas Singh},
    year    = {2021},
    eprint  = {2102.03902}
}
```
'''


def test_readme_code_gives_its_comments_settings_and_citation(tmp_path: Path):
    path = tmp_path / "nystrom.md"
    path.write_text(README, encoding="utf-8")

    document, issue = read_document(path, tmp_path)

    assert issue is None
    assert document.title == "Nyströmformer (NF)"  # a '#' comment inside code is no heading
    paragraphs = document.text.split("\n\n")
    assert "Number of landmarks (num_landmarks = 256)." in paragraphs
    assert (
        "Number of moore-penrose iterations for approximating pinverse (pinv_iterations = 6). "
        "6 was recommended by the paper." in paragraphs
    )
    assert "This comment line is not the title." in paragraphs
    assert "Dimension of each head (dim_head = 512 // 8)." in paragraphs  # '//' divides in Python
    for code in ("import torch", "NystromAttention(", "ff0000", "out = attn", "16384", "eprint", "@misc"):
        assert code not in document.text
    assert document.references == (
        "Nyströmformer: A Nyström-Based Algorithm for Approximating Self-Attention, "
        "by Yunyang Xiong, Zhanpeng Zeng and Vikas Singh (2021).",
    )
    assert "Xiong" not in document.text  # references are never quoted as evidence
    # the README of the cited paper itself (its title before the colon, parentheses aside): its authors
    assert document.authors == ("Yunyang Xiong", "Zhanpeng Zeng", "Vikas Singh")
    assert paper_record(document)["authors"] == list(document.authors)  # raw_data: authors.py makes them PERSON entities


def test_a_comment_repeated_across_framework_versions_is_said_once():
    seen: set[str] = set()
    pytorch = "# Shape of queries: (batch size, no. of queries, num_hiddens)\nq = self.W_q(queries)"
    jax = "# Shape of queries: (batch size, no. of queries, num_hiddens)\nq = self.W_q(queries)  # dense layer"

    assert code_words(pytorch, "python", seen) == ["Shape of queries: (batch size, no. of queries, num_hiddens)."]
    assert code_words(jax, "python", seen) == []


def test_docstrings_and_last_name_first_authors():
    code = 'class Encoder:\n    """The Transformer encoder block."""\n    #@save\n'
    bib = "@article{k, author = {Kitaev, Nikita and Kaiser, Lukasz and others}, title = {Reformer}, journal = {ICLR}, year = 2020}"

    assert code_words(code, "python", set()) == ["The Transformer encoder block."]
    assert [c.text for c in citations(bib)] == ["Reformer, by Nikita Kitaev, Lukasz Kaiser et al. (ICLR, 2020)."]


def test_bibtex_accents_become_letters():
    bib = "@article{v, title={Graph Attention Networks}, author={Veli{\\v{c}}kovi{\\'{c}}, Petar and Bengio, Yoshua}}"

    (citation,) = citations(bib)
    assert citation.authors == ("Petar Veličković", "Yoshua Bengio")
    assert citation.text == "Graph Attention Networks, by Petar Veličković and Yoshua Bengio."


def test_a_readme_citing_other_papers_has_no_authors(tmp_path: Path):
    path = tmp_path / "notes.md"
    path.write_text("# My notes\n\nOn attention.\n\n```bibtex\n" + README.split("```bibtex\n")[1], encoding="utf-8")

    document, _ = read_document(path, tmp_path)

    assert document.authors == ()
    assert len(document.references) == 1


def test_a_readme_presenting_a_paper_its_opening_names_has_that_papers_authors(tmp_path: Path):
    path = tmp_path / "zorb_pytorch.md"
    bibtex = "@misc{lovelace2021,\n  title = {Zorbs Do Not Need $O(n^2)$ Memory},\n  author = {Lovelace, Ada and Alan Turing}\n}"
    opening = "Implementation of a rolling zorb as proposed in the paper, Zorbs Do Not Need O(n²) Memory. It rolls."
    path.write_text(f"# Zorb Pytorch\n\n{opening}\n\n```bibtex\n{bibtex}\n```\n", encoding="utf-8")

    document, _ = read_document(path, tmp_path)

    assert document.authors == ("Ada Lovelace", "Alan Turing")
    assert document.paper == "Zorbs Do Not Need O(n^2) Memory"  # the BibTeX title, math delimiters off
    assert document.abstract == "Implementation of a rolling zorb as proposed in the paper, Zorbs Do Not Need O(n²) Memory."
    assert paper_record(document)["paper"] == document.paper


def test_slash_comments_in_c_like_languages():
    cuda = "int n = 4; // threads per warp in this kernel\n# not a comment here"

    assert code_words(cuda, "cuda", set()) == ["Threads per warp in this kernel."]
