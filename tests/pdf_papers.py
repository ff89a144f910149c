"""Small two-column papers drawn with reportlab, whose text the tests know.

Running header and page number on every page, a title, authors and abstract on the first,
body text wrapped into two columns (long words hyphenated at line ends), a footnote at the
bottom of a column, a figure with its caption, and a references section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

WIDTH, HEIGHT = letter
MARGIN, GUTTER, SIZE, LEADING = 54, 18, 10, 12
COLUMN = (WIDTH - 2 * MARGIN - GUTTER) / 2
TOP, BOTTOM = HEIGHT - 90, 90
BREAK_AT_HYPHEN = {"self-attention"}  # broken at its hyphen wherever it falls; written whole elsewhere
APPENDIX = "The appendix repeats the long document experiment with twice as many attention heads per layer."
THANKS = "We thank the anonymous reviewers and the members of our group for their careful reading of the draft."


@dataclass
class Drawn:
    path: Path
    title: str
    authors: list[str]
    abstract: list[str]
    body: list[str]  # running-text sentences in reading order
    page_of: dict[str, int] = field(default_factory=dict)  # sentence -> its page, for paragraphs on one page
    broken: list[str] = field(default_factory=list)  # words hyphenated at a line end
    header: str = ""
    footnote: str = ""
    caption: str = ""
    references: list[str] = field(default_factory=list)


def wrap(text: str, width: float, font: str = "Times-Roman", size: float = SIZE, broken: list | None = None) -> list[str]:
    """Greedy line breaking; a long word that does not fit is hyphenated (as TeX would)."""
    broken = [] if broken is None else broken
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if word in BREAK_AT_HYPHEN and line and stringWidth(f"{line} {word.split('-')[0]}-", font, size) <= width:
            broken.append(word)
            lines.append(f"{line} {word.split('-')[0]}-")
            line = word.split("-", 1)[1]
            continue
        if stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        cut = max((k for k in range(3, len(word) - 2) if "-" not in word and
                   stringWidth(f"{line} {word[:k]}-", font, size) <= width), default=0)
        if cut and len(word) >= 8:
            broken.append(word)
            lines.append(f"{line} {word[:cut]}-".strip())
            line = word[cut:]
        elif "-" in word and stringWidth(f"{line} {word.split('-')[0]}-", font, size) <= width:
            head, tail = word.split("-", 1)
            broken.append(word)
            lines.append(f"{line} {head}-".strip())
            line = tail
        else:
            lines.append(line)
            line = word
    return [*lines, line] if line else lines


def draw_paper(path: Path, title: str, authors: list[str], abstract: list[str], sections: list[tuple[str, list[list[str]]]],
               footnote: str, caption: str, references: list[str]) -> Drawn:
    pdf = canvas.Canvas(str(path), pagesize=letter)
    header = f"{title.split(' for ')[0]} · Preprint under review"
    drawn = Drawn(path, title, authors, abstract, [], header=header, footnote=footnote, caption=caption,
                  references=references)
    state = {"page": 1, "column": 0, "y": TOP - 95}

    def furniture() -> None:
        pdf.setFont("Times-Italic", 9)
        pdf.drawString(MARGIN, HEIGHT - 50, header)
        pdf.setFont("Times-Roman", 9)
        pdf.drawCentredString(WIDTH / 2, 45, str(state["page"]))

    def next_column() -> None:
        if state["column"] == 0:
            state.update(column=1, y=TOP - 95 if state["page"] == 1 else TOP)
        else:
            pdf.showPage()
            state.update(page=state["page"] + 1, column=0, y=TOP)
            furniture()

    def x(indent: float = 0) -> float:
        return MARGIN + state["column"] * (COLUMN + GUTTER) + indent

    def lines(text: str, font: str = "Times-Roman", size: float = SIZE, indent: float = 0, gap: float = 0) -> None:
        state["y"] -= gap
        for i, line in enumerate(wrap(text, COLUMN - indent, font, size, drawn.broken)):
            if state["y"] < BOTTOM:
                next_column()
            pdf.setFont(font, size)
            pdf.drawString(x(indent if i == 0 else 0), state["y"], line)
            state["y"] -= size + 2

    furniture()
    pdf.setFont("Times-Bold", 18)
    pdf.drawCentredString(WIDTH / 2, TOP + 10, title)
    pdf.setFont("Times-Roman", 12)
    for i, name in enumerate(authors):
        pdf.drawCentredString(WIDTH * (i + 1) / (len(authors) + 1), TOP - 20, name)
    pdf.setFont("Times-Bold", 11)
    pdf.drawString(x(), state["y"] + 40, "Abstract")
    state["y"] += 25
    lines(" ".join(abstract))
    for s_number, (heading, paragraphs) in enumerate(sections):
        if heading == "References":
            break
        lines(f"{s_number + 1} {heading}", "Times-Bold", 11, gap=10)
        for p_number, sentences in enumerate(paragraphs):
            drawn.body += sentences
            first = state["page"]
            lines(" ".join(sentences), indent=SIZE)
            if state["page"] == first:
                drawn.page_of.update(dict.fromkeys(sentences, first))
            if s_number == 0 and p_number == 0:  # the footnote at the bottom of this column
                pdf.setFont("Times-Roman", 8)
                for i, line in enumerate(wrap(footnote, COLUMN, size=8)):
                    pdf.drawString(x(), BOTTOM - 20 - 9 * i, line)
            if s_number == 1 and p_number == 0:  # a figure and its caption
                state["y"] -= 10
                pdf.rect(x(20), state["y"] - 40, COLUMN - 40, 40)
                pdf.setFont("Times-Roman", 8)
                pdf.drawString(x(30), state["y"] - 25, "queries keys values")
                state["y"] -= 60
                lines(caption, gap=0)
                state["y"] -= 8
    lines("Acknowledgments", "Times-Bold", SIZE, gap=10)  # an unnumbered heading in body type
    lines(THANKS)
    lines("References", "Times-Bold", 11, gap=10)
    for number, entry in enumerate(references, 1):
        lines(f"[{number}] {entry}", size=9)
    lines("A Additional Results", "Times-Bold", 11, gap=10)  # an appendix after the references
    lines(APPENDIX, indent=SIZE)
    pdf.showPage()
    pdf.save()
    return drawn


SENTENCES = [
    "Attention lets every position of a sequence gather information from every other position in one step.",
    "Gated attention multiplies each head output by a learned gate before the heads are concatenated.",
    "The gate is computed from the query itself, so a head can switch itself off for a given token.",
    "We find that gated heads learn sharper alignments than plain heads on long documents.",
    "The multilayer perceptron after each attention layer keeps its usual width of four times the model size.",
    "Self-attention over thousands of tokens is the main cost, and the gate adds almost nothing to it.",
    "Training uses the usual warmup schedule with a peak learning rate reached after four thousand steps.",
    "Every experiment was repeated with three random seeds and we report the mean of the three runs.",
    "On the long document benchmark the gated model improves accuracy by two points over the baseline.",
    "The improvement is largest for documents longer than eight thousand tokens in our evaluation.",
    "Heads whose gates stay closed can be pruned after training without any measurable loss in accuracy.",
    "Visualizing the gates shows that lower layers keep most heads open while upper layers close many.",
    "This suggests that the upper layers need fewer heads to represent the structure of a document.",
    "Compared with sparse attention, gating keeps the full attention pattern and only rescales each head.",
    "The two ideas are complementary, and combining them is a natural direction for further work.",
    "Our implementation adds fewer than twenty lines of code to a standard Transformer encoder layer.",
    "The gate parameters are initialized so that every gate starts fully open at the beginning of training.",
    "Closing a gate early in training slowed convergence, so the initialization matters in practice.",
    "Interpretability also benefits because closed heads no longer clutter the attention visualizations.",
    "We release the configuration files that reproduce every number reported in this paper.",
    "In summary, gated attention is a cheap change that makes long document models more accurate.",
    "Future work will study whether the same gates help encoder-decoder models for translation.",
    "The self-attention layers of the decoder could use the same gates without other changes.",
    "We thank the reviewers for comments that improved the clarity of the experimental section.",
]


def gated_attention_paper(path: Path, repeat: int = 2) -> Drawn:
    """A two-page paper about gated attention; `repeat` rounds of body paragraphs."""
    body = [SENTENCES[i : i + 4] for i in range(0, len(SENTENCES), 4)]
    paragraphs = body * repeat if repeat == 1 else body + [[f"{s[:-1]} in the second study." for s in p] for p in body]
    sections = [("Introduction", paragraphs[:3]), ("Gated Attention", paragraphs[3:8]), ("Experiments", paragraphs[8:])]
    return draw_paper(
        path,
        title="Gated Attention for Long Documents",
        authors=["Maria Lindqvist", "Tomas Okoye", "Wen Zhao"],
        abstract=["We propose gated attention, a variant of multi-head attention in which each head has a learned gate.",
                  "Gated attention improves accuracy on long documents at almost no extra cost."],
        sections=sections,
        footnote="Code and configuration files are released with the camera-ready version of the paper.",
        caption="Figure 1: The gate scales the output of each attention head before the heads are concatenated.",
        references=[
            "A. Vaswani, N. Shazeer and N. Parmar. Attention is all you need. In Advances in Neural Information "
            "Processing Systems, 2017.",
            "D. Bahdanau, K. Cho and Y. Bengio. Neural machine translation by jointly learning to align and "
            "translate. In International Conference on Learning Representations, 2015.",
            "R. Child, S. Gray, A. Radford and I. Sutskever. Generating long sequences with sparse transformers. "
            "Technical report, 2019.",
        ],
    )
