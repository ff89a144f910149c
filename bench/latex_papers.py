"""Paper-like LaTeX sources whose running text is known, for bench/bench_pdf.py.

Each paper is written from a seeded grammar of attention-paper prose (so the text is ours
and every sentence is unique), typeset two-column with running headers, page numbers,
footnotes, a table, figures, displayed equations and a bibliography. The body sentences
(running text only, not footnotes, captions or references) are what the benchmark looks for.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

SUBJECTS = [
    "the encoder", "each attention head", "the proposed model", "a sparse variant of the mechanism",
    "the relative position bias", "the multilayer perceptron", "the decoder stack", "our normalization scheme",
    "the cross-attention layer", "a shallow baseline", "the gating function", "every intermediate representation",
    "the memory module", "the recurrent controller", "the alignment model", "the kernelized approximation",
    "the learned temperature", "the feed-forward sublayer", "the hierarchical pooling operator",
    "the contextual embedding", "a low-rank factorization", "the segment-level recurrence",
]
VERBS = [
    "computes", "aggregates", "normalizes", "projects", "reweights", "compresses", "stabilizes", "propagates",
    "summarizes", "redistributes", "approximates", "regularizes", "concatenates", "interpolates", "suppresses",
]
OBJECTS = [
    "the similarity between queries and keys", "a weighted sum of the value vectors",
    "the hidden states of the previous layer", "long-range dependencies between distant tokens",
    "the gradients that flow through the residual connections", "the distribution of attention weights",
    "information from every position of the input sequence", "the contextual representations of rare words",
    "the computational cost of the quadratic interaction", "the alignment between source and target phrases",
    "the interpretability of individual attention maps", "the statistics of the intermediate activations",
    "the positional information of each element", "the uncertainty of the predicted alignments",
]
ADJUNCTS = [
    "before the softmax is applied", "across all positions of the sequence", "at every layer of the decoder",
    "without increasing the number of parameters", "when the sequence length grows beyond a few thousand tokens",
    "during both training and inference", "for each of the parallel heads", "under a fixed memory budget",
    "with only a marginal loss in accuracy", "on the translation and summarization benchmarks",
    "in the presence of noisy or redundant inputs", "after the residual connection is added",
    "while preserving the ordering of the tokens", "through a series of learned linear transformations",
]
OPENERS = [
    "", "", "", "In practice, ", "As a consequence, ", "Moreover, ", "In contrast, ", "For long inputs, ",
    "In our experiments, ", "Empirically, ", "Surprisingly, ", "Taken together, ",
]
CLOSERS = [
    "", "", "", ", which simplifies the implementation considerably", ", as the ablation study confirms",
    ", and this effect is consistent across random seeds", ", although the improvement diminishes for short inputs",
    ", so the extra computation remains affordable",
]
MATH_SENTENCES = [
    r"The score of a query $q$ and a key $k$ is $q^\top k / \sqrt{d_k}$ in every head.",
    r"With $h$ heads of width $d_k = d/h$ the total cost stays close to that of a single head.",
    r"The output of the layer is $\mathrm{softmax}(QK^\top/\sqrt{d_k})V$ for the whole sequence.",
    r"For a sequence of length $n$ the memory grows as $O(n^2)$ in the standard formulation.",
]
EQUATIONS = [
    r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right) V",
    r"\alpha_{ij} = \frac{\exp(e_{ij})}{\sum_{k=1}^{n} \exp(e_{ik})}",
    r"h_t = \tanh(W_h h_{t-1} + W_x x_t + b)",
    r"\mathrm{LN}(x) = \gamma \odot \frac{x - \mu}{\sigma} + \beta",
]
SECTION_NAMES = [
    "Introduction", "Background", "Method", "Scaled Dot-Product Attention Revisited", "Efficient Variants",
    "Experimental Setup", "Results", "Analysis of Attention Maps", "Related Work", "Limitations", "Conclusion",
]
FIRST = ["Alice", "Bruno", "Chen", "Dana", "Emil", "Farah", "Goran", "Hana", "Ivo", "Julia", "Kofi", "Lena"]
LAST = ["Marsh", "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Sato", "Tan", "Ueda", "Varga", "Weber", "Yilmaz"]
VENUES = ["Proceedings of the Conference on Neural Computation", "Journal of Sequence Learning",
          "Workshop on Efficient Transformers", "Transactions on Language Modeling"]


@dataclass
class Paper:
    name: str
    title: str
    authors: list[str]
    tex: str
    body: list[str] = field(default_factory=list)  # body sentences, in reading order (math ones included)
    header: str = ""  # the running header's text
    references: list[str] = field(default_factory=list)


class _Writer:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def sentence(self) -> str:
        rng = self.rng
        while True:
            text = (
                f"{rng.choice(OPENERS)}{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
                f"{rng.choice(ADJUNCTS)}{rng.choice(CLOSERS)}."
            )
            text = text[0].upper() + text[1:]
            if text not in self.seen:
                self.seen.add(text)
                return text

    def paragraph(self, n: int) -> list[str]:
        return [self.sentence() for _ in range(n)]


def make_paper(index: int, pages_hint: int = 9) -> Paper:
    """One paper; `index` picks the seed and the page style (header and page number placement)."""
    w = _Writer(seed=1000 + index)
    rng = w.rng
    title = f"{rng.choice(['Sparse', 'Gated', 'Relative', 'Kernelized', 'Hierarchical'])} Attention for " \
            f"{rng.choice(['Long Documents', 'Speech Translation', 'Protein Sequences', 'Code Summarization'])}"
    authors = [f"{rng.choice(FIRST)} {last}" for last in rng.sample(LAST, 3)]
    header = f"{title.split(' for ')[0]} Preprint. Under review."
    body: list[str] = []
    tex: list[str] = []

    def para(sentences: list[str], footnote: str | None = None, math: str | None = None) -> None:
        parts = []
        for i, s in enumerate(sentences):
            parts.append(s)
            if footnote and i == 1:
                parts[-1] += f"\\footnote{{{footnote}}}"
        if math:
            parts.insert(2, math)
            sentences = sentences[:2] + [math] + sentences[2:]
        body.extend(sentences)
        tex.append(" ".join(parts) + "\n")

    abstract = w.paragraph(5)
    body.extend(abstract)
    sections = rng.sample(SECTION_NAMES[1:-1], 6)
    footnotes = iter([s.rstrip(".") + " in a footnote." for s in w.paragraph(8)])
    per_section = max(3, pages_hint * 2 // 3)
    for number, name in enumerate(["Introduction", *sections, "Conclusion"]):
        tex.append(f"\\section{{{name}}}\n")
        for p in range(per_section):
            para(
                w.paragraph(rng.randint(4, 7)),
                footnote=next(footnotes, None) if p == 1 and number % 2 == 0 else None,
                math=rng.choice(MATH_SENTENCES) if p == 2 else None,
            )
            if p == 1:
                tex.append(f"\\begin{{equation}}\n{EQUATIONS[number % len(EQUATIONS)]}\n\\end{{equation}}\n")
        if number == 2:
            caption = w.sentence()
            tex.append(
                "\\begin{table}[t]\\centering\n"
                f"\\caption{{{caption}}}\n"
                "\\begin{tabular}{lrrr}\\hline\nModel & BLEU & Params & Speed \\\\ \\hline\n"
                + "".join(f"{m} & {rng.uniform(20, 35):.1f} & {rng.randint(40, 400)}M & {rng.uniform(0.5, 4):.2f} \\\\\n"
                          for m in ["Baseline", "Sparse", "Gated", "Ours"])
                + "\\hline\n\\end{tabular}\n\\end{table}\n"
            )
        if number in (3, 5):
            star = "*" if number == 5 and index % 2 else ""
            width = "0.9\\textwidth" if star else "0.9\\columnwidth"
            tex.append(
                f"\\begin{{figure{star}}}[t]\\centering\n"
                f"\\fbox{{\\parbox{{{width}}}{{\\centering Queries \\quad Keys \\quad Values\\\\[1ex] "
                f"Softmax \\quad Weighted sum}}}}\n"
                f"\\caption{{{w.sentence()}}}\n\\end{{figure{star}}}\n"
            )
    references = []
    for k in range(12):
        names = ", ".join(f"{rng.choice(FIRST)[0]}. {rng.choice(LAST)}" for _ in range(rng.randint(1, 3)))
        references.append(f"{names}. {w.sentence()[:-1].title()}. {rng.choice(VENUES)}, {rng.randint(2014, 2025)}.")
    # numbered [1] labels, or author-year labels for the fourth layout
    labels = [f"[{r.split('.')[1].split(',')[0].strip()} {r.rstrip('.').split()[-1]}]" if index % 4 == 3 else ""
              for r in references]
    bibliography = "\\begin{thebibliography}{99}\n" + "".join(
        f"\\bibitem{label}{{r{k}}} {r}\n" for k, (label, r) in enumerate(zip(labels, references))) + "\\end{thebibliography}\n"

    styles = [
        # header and page number together at the top
        "\\pagestyle{myheadings}\\markright{" + header + "}",
        # header on top, page number in the footer
        "\\usepackage{fancyhdr}\\pagestyle{fancy}\\fancyhf{}\\lhead{" + header + "}\\cfoot{\\thepage}"
        "\\renewcommand{\\headrulewidth}{0.4pt}",
        # authors in the header, page number on the right of the footer
        "\\usepackage{fancyhdr}\\pagestyle{fancy}\\fancyhf{}\\rhead{" + header + "}\\rfoot{\\thepage}",
    ]
    fonts = ["", "\\usepackage{times}", "\\usepackage{palatino}"]
    # the fourth layout: paragraphs set apart by space, not indentation
    paragraphs = "\\usepackage{parskip}" if index % 4 == 3 else ""
    and_authors = " \\and ".join(authors)
    source = (
        f"\\documentclass[10pt,twocolumn]{{{'scrartcl' if index % 5 == 4 else 'article'}}}\n"
        "\\usepackage[margin=0.8in]{geometry}\n"
        f"{fonts[index % len(fonts)]}\n{paragraphs}\n{styles[index % len(styles)]}\n"
        f"\\title{{{title}}}\n\\author{{{and_authors}}}\n\\date{{}}\n"
        "\\begin{document}\n\\maketitle\n\\thispagestyle{" + ("myheadings" if index % 3 == 0 else "fancy") + "}\n"
        "\\begin{abstract}\n" + " ".join(abstract) + "\n\\end{abstract}\n\n" + "\n".join(tex) + bibliography
        + "\\end{document}\n"
    )
    return Paper(f"paper{index + 1}", title, authors, source, body, header, references)


def is_scored(sentence: str) -> bool:
    """A body sentence the benchmark scores: at least 8 words and no math."""
    return "$" not in sentence and len(sentence.split()) >= 8


def plain(sentence: str) -> str:
    """A sentence as it reads on the page (LaTeX quotes and dashes as characters)."""
    return re.sub(r"\s+", " ", sentence.replace("--", "–")).strip()
