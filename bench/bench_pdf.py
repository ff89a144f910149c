"""PDF ingestion benchmark: typeset paper-like PDFs from known text, read them back, score.

    bash bench/setup_latex.sh            # once: Debian's texlive (pdflatex), not needed by the tests
    .venv/bin/python bench/bench_pdf.py  # [--papers 5] [--out /tmp/qa_bench_pdf]

For each reader (plain pypdf, which ingestion used before; plain pypdfium2; ours, qa_engine.pdf)
and each paper: body sentences (running text, >= 8 words, no math) found intact, reading
order of the found ones (longest in-order run / found), and what broke the others: a line-end
hyphen, a running header or a page number inside the sentence (the sentence reads intact once
that is taken out, in this order). Also headers, page-number lines and reference entries left
in the text, and milliseconds per page.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from bisect import bisect_left
from pathlib import Path

from _common import machine, now
from latex_papers import is_scored, make_paper, plain


def typeset(paper, folder: Path) -> Path:
    (folder / f"{paper.name}.tex").write_text(paper.tex, encoding="utf-8")
    for _ in range(2):  # twice: page references and headers settle
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{paper.name}.tex"],
            cwd=folder, capture_output=True, text=True,
        )
        if done.returncode:
            sys.exit(f"pdflatex failed on {paper.name}.tex in {folder}:\n{done.stdout[-2000:]}")
    return folder / f"{paper.name}.pdf"


def read_pypdf(raw: bytes) -> str:
    from io import BytesIO

    from pypdf import PdfReader

    return "\n\n".join(page.extract_text() or "" for page in PdfReader(BytesIO(raw)).pages)


def read_pypdfium2(raw: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(raw)
    text = "\n\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    document.close()
    return text.replace("\r\n", "\n")


def read_ours(raw: bytes) -> str:
    from qa_engine.pdf import read_pdf

    return read_pdf(raw).text


READERS = {"pypdf": read_pypdf, "pypdfium2": read_pypdfium2, "ours": read_ours}


def flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def score(paper, text: str) -> dict:
    sentences = [plain(s) for s in paper.body if is_scored(s)]
    found_text = flat(text)
    positions = [found_text.find(s) for s in sentences]
    found = [p for p in positions if p >= 0]

    def intact(fixed: str) -> int:
        fixed = flat(fixed)
        return sum(1 for s in sentences if s in fixed)

    # what broke the others, taken out one after the other: line-end hyphens, headers, page numbers
    header = re.escape(paper.header)
    dehyphenated = re.sub(r"(\w)(?:[-\u2010\xad]\s+|\ufffe\s*)(\w)", r"\1\2", text)
    headless = re.sub(rf"\s*{header}\s*\d*\s*", " ", dehyphenated)
    numberless = re.sub(r"\d+", " ", headless)  # body sentences hold no digits
    steps = [intact(t) for t in (text, dehyphenated, headless, numberless)]
    return {
        "sentences": len(sentences),
        "intact": len(found),
        "in_order": _longest_increasing(found),
        "hyphen": steps[1] - steps[0],
        "header": steps[2] - steps[1],
        "page_number": steps[3] - steps[2],
        "headers_left": len(re.findall(header, text)),
        "numbers_left": len(re.findall(r"(?m)^\s*\d{1,3}\s*$", text)),
        "references_left": sum(1 for r in paper.references if flat(r)[-60:] in found_text),
    }


def _longest_increasing(values: list[int]) -> int:
    tails: list[int] = []
    for v in values:
        i = bisect_left(tails, v)
        tails[i:i + 1] = [v]
    return len(tails)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=5, help="papers to typeset (layouts cycle)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/qa_bench_pdf"), help="where the PDFs are typeset")
    args = parser.parse_args()
    if not shutil.which("pdflatex"):
        sys.exit("pdflatex not found: run `bash bench/setup_latex.sh` first (Debian's texlive)")
    args.out.mkdir(parents=True, exist_ok=True)
    papers = [make_paper(i) for i in range(args.papers)]
    pdfs = [typeset(p, args.out).read_bytes() for p in papers]
    import pypdfium2 as pdfium

    pages = sum(len(pdfium.PdfDocument(raw)) for raw in pdfs)
    print(f"{now()}, {machine()}")
    print(f"{len(papers)} two-column papers, {pages} pages, typeset in {args.out}\n")
    keys = ["sentences", "intact", "in_order", "hyphen", "header", "page_number", "headers_left", "numbers_left",
            "references_left"]
    print("| reader | body sentences intact (per paper) | in order (of intact) | broken by hyphen / header / page number "
          "| running headers left | page-number lines left | reference entries in text | ms / page |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, read in READERS.items():
        totals = dict.fromkeys(keys, 0)
        started = time.perf_counter()
        texts = [read(raw) for raw in pdfs]
        elapsed = time.perf_counter() - started
        per_paper = []
        for paper, text in zip(papers, texts, strict=True):
            result = score(paper, text)
            per_paper.append(f"{result['intact'] / result['sentences']:.1%}")
            for k in keys:
                totals[k] += result[k]
        t = totals
        print(
            f"| {name} | {t['intact'] / t['sentences']:.1%} ({t['intact']}/{t['sentences']}; {', '.join(per_paper)}) "
            f"| {t['in_order'] / max(t['intact'], 1):.1%} | {t['hyphen']} / {t['header']} / {t['page_number']} "
            f"| {t['headers_left']} | {t['numbers_left']} | {t['references_left']} | {1000 * elapsed / pages:.0f} |"
        )

    print("\n| paper (ours) | pages | title | authors | abstract | reference entries |")
    print("| --- | ---: | --- | --- | --- | ---: |")
    from qa_engine.pdf import read_pdf

    for paper, raw in zip(papers, pdfs, strict=True):
        read = read_pdf(raw)
        abstract = flat(" ".join(paper.body[:5]))
        print(f"| {paper.name} | {len(pdfium.PdfDocument(raw))} | {'right' if read.title == paper.title else repr(read.title)} "
              f"| {'right' if list(read.authors) == paper.authors else repr(read.authors)} "
              f"| {'right' if flat(read.abstract) == abstract else 'not found' if not read.abstract else 'wrong'} "
              f"| {len(read.references)} of {len(paper.references)} |")


if __name__ == "__main__":
    main()
