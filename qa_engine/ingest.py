"""Read the corpus folder into clean prose documents: one bad file never stops the rest."""

from __future__ import annotations

import hashlib
import html
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from qa_engine.code_words import Citation, citations, code_words, is_bibtex
from qa_engine.errors import CorpusError
from qa_engine.pdf import UnreadablePDF, read_pdf
from qa_engine.prose import split_sentences

SUPPORTED_SUFFIXES = frozenset({".pdf", ".md", ".mdx", ".txt", ".tex"})

# Attribution and license files travel with the corpus but are not content.
_NOT_CONTENT_STEMS = frozenset({"LICENSE", "LICENCE", "COPYING", "SOURCES", "NOTICE"})
_TITLE_MAX_CHARS = 120
OPENING_CHARS = 1000  # a README says what it implements in its first paragraph or two
MIN_TITLE_WORDS = 3  # a shorter title ("Attention") is any sentence's words, not a paper named

# (pattern, replacement) pairs applied in order: each cleaner is a short list of these.
_Rules = list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]]


@dataclass(frozen=True)
class SourceDocument:
    path: str  # relative to the corpus root, POSIX separators
    title: str
    text: str
    sha256: str  # of the raw bytes: the index manifest rebuilds only what changed
    size: int
    # PDFs: (offset in text, page) where each page's text starts, and the paper's record;
    # Markdown: its BibTeX entries as references, the authors of the paper it presents (its own
    # title, or one its opening names) with that paper's title and the sentence naming it as abstract
    pages: tuple[tuple[int, int], ...] = ()
    authors: tuple[str, ...] = ()
    abstract: str = ""
    references: tuple[str, ...] = ()  # the bibliography, kept out of `text`
    paper: str = ""  # the presented paper's title, where it is not the document's own


def paper_record(document: SourceDocument) -> dict:
    """What documents.raw_data keeps of a paper beside its text (empty for plain text and LaTeX):
    page offsets as two lists, so the parquet column stays plain lists of integers."""
    return {
        "page_offsets": [offset for offset, _ in document.pages],
        "page_numbers": [page for _, page in document.pages],
        "authors": list(document.authors),
        "abstract": document.abstract,
        "references": list(document.references),
        "paper": document.paper,
    }


@dataclass(frozen=True)
class IngestIssue:
    path: str
    action: str  # "skipped", "decoded as latin-1", "repaired"
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.action} ({self.reason})"


@dataclass(frozen=True)
class IngestResult:
    documents: list[SourceDocument]  # sorted by path
    issues: list[IngestIssue]


def ingest_corpus(corpus_dir: Path, max_file_mb: float = 20.0, progress: bool = False) -> IngestResult:
    """Read every supported file under corpus_dir; raise CorpusError only if nothing is usable."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.exists():
        raise CorpusError(
            f"corpus folder {corpus_dir} does not exist: create it and put .md/.txt/.pdf/.tex files in it, "
            "or pass --corpus DIR"
        )
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} is a file, not a folder: pass the folder with --corpus DIR")
    suffixes = ", ".join(sorted(SUPPORTED_SUFFIXES))
    files = _content_files(corpus_dir)
    if not files:
        raise CorpusError(f"corpus folder {corpus_dir} holds no files to index: supported types are {suffixes}")

    documents: list[SourceDocument] = []
    issues: list[IngestIssue] = []
    for path in tqdm(files, desc="Reading corpus", unit="file", disable=not progress):
        document, issue = read_document(path, corpus_dir, max_file_mb)
        if document:
            documents.append(document)
        if issue:
            issues.append(issue)
    if not documents:
        listing = "\n".join(f"  {issue}" for issue in issues)
        raise CorpusError(
            f"corpus folder {corpus_dir} has no usable documents (supported types are {suffixes}); "
            f"every file was skipped:\n{listing}"
        )
    return IngestResult(sorted(documents, key=lambda d: d.path), issues)


def _content_files(corpus_dir: Path) -> list[Path]:
    """Supported files in a deterministic order, without hidden and license files."""
    found = []
    for root, dirs, names in os.walk(corpus_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = Path(root, name)
            stem = path.stem.upper()
            if name.startswith(".") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if stem in _NOT_CONTENT_STEMS or stem.startswith("LICENSE-"):
                continue
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(corpus_dir).as_posix())


def read_document(
    path: Path, corpus_dir: Path, max_file_mb: float = 20.0
) -> tuple[SourceDocument | None, IngestIssue | None]:
    """One file in, a document and/or the one issue worth telling the user about."""
    rel = path.relative_to(corpus_dir).as_posix()
    suffix = path.suffix.lower()

    def skipped(reason: str) -> tuple[None, IngestIssue]:
        return None, IngestIssue(rel, "skipped", reason)

    if suffix not in SUPPORTED_SUFFIXES:
        return skipped(f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
        if size > max_file_mb * 1024 * 1024:  # checked before reading: never load a huge file
            return skipped(f"larger than the {max_file_mb:g} MB limit (qa.max_file_mb in settings.yaml)")
        raw = path.read_bytes()
    except OSError as exc:
        return skipped(f"cannot read it: {exc.strerror or exc}")
    if not raw.strip():
        return skipped("empty file")

    sha256 = hashlib.sha256(raw).hexdigest()
    if suffix == ".pdf":
        try:
            paper = read_pdf(raw, clean=_normalize_newlines)
        except UnreadablePDF as exc:
            return skipped(str(exc))
        title = paper.title or _first_line(paper.text) or _prettify_stem(path.stem)
        document = SourceDocument(
            rel, title, paper.text, sha256, size, paper.pages, paper.authors, paper.abstract, paper.references
        )
        return document, IngestIssue(rel, "repaired", paper.damage) if paper.damage else None
    if b"\x00" in raw:
        return skipped("contains NUL bytes: binary file")
    issue = None
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
        issue = IngestIssue(rel, "decoded as latin-1", "not valid UTF-8")
    title, text, cited = _TEXT_READERS[suffix](_normalize_newlines(decoded))
    if not text:
        return skipped("no text after cleaning")
    title = title or _prettify_stem(path.stem)
    references = tuple(c.text for c in cited)
    presented = _presented_paper(title, text, cited)
    if presented is None:
        return SourceDocument(rel, title, text, sha256, size, references=references), issue
    citation, naming = presented
    paper = "" if not naming else citation.title
    return SourceDocument(rel, title, text, sha256, size, authors=citation.authors, abstract=naming, references=references, paper=paper), issue


def _presented_paper(title: str, text: str, cited: list[Citation]) -> tuple[Citation, str] | None:
    """The cited paper the document presents, and the sentence of its opening that names it ("" when
    it is the document's own title): a paper's README is that paper's page ("Longformer", parentheses
    and what follows a colon aside), and a README that opens with "Implementation of ... as proposed
    in the paper, <title>" is the page of that paper's implementation."""
    for citation in cited:
        if _title_key(title) in (_title_key(citation.title), _title_key(citation.title.partition(":")[0])):
            return citation, ""
    opening = [s for paragraph in text[:OPENING_CHARS].split("\n\n") for s in split_sentences(" ".join(paragraph.split()))]
    for citation in cited:
        words = _title_words(citation.title)
        if len(words) >= MIN_TITLE_WORDS:
            naming = next((s for s in opening if _contains(_title_words(s), words)), None)
            if naming is not None:
                return citation, naming
    return None


def _title_words(text: str) -> list[str]:
    """Words of two letters or more: "Self-attention Does Not Need $O(n^2)$ Memory" and the
    text's "Self-attention Does Not Need O(n²) Memory" read alike (NFKC: "²" is "2")."""
    return re.findall(r"[^\W\d_]{2,}", unicodedata.normalize("NFKC", text).casefold())


def _contains(words: list[str], run: list[str]) -> bool:
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


def _title_key(title: str) -> str:
    """'Attention with Linear Biases (ALiBi) Enables ...' -> 'attention with linear biases enables ...'."""
    return " ".join(re.sub(r"\W+", " ", re.sub(r"\([^()]*\)", " ", title).casefold()).split())


# ---------------------------------------------------------------- plain text


def _read_txt(text: str) -> tuple[str, str, list[Citation]]:
    text = _tidy(text)
    return _first_line(text), text, []


def _first_line(text: str) -> str:
    """First non-empty line that is not a bare #tag, cut to a readable title length."""
    for line in text.splitlines():
        line = line.strip()
        if line and not re.fullmatch(r"#\S+", line):
            return line if len(line) <= _TITLE_MAX_CHARS else line[: _TITLE_MAX_CHARS - 1].rstrip() + "…"
    return ""


# ---------------------------------------------------------------- Markdown / MDX

_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})")
_TAB_BEGIN = re.compile(r"[ \t]*:begin_tab:")
_TAB_END = re.compile(r"[ \t]*:end_tab:")
_MATH_OR_CODE = re.compile(r"\$\$.+?\$\$|(?<!\\)\$[^$\n]+\$|`[^`\n]+`|\\[*_#`|~\[\]]", re.S)  # and markdown's escapes: "\*" is a star
_URL = r"\(\s*(?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\s*\)"  # one level of nested parens: wiki URLs
_REFERENCE_NOUNS = {"fig": "the figure", "tab": "the table", "chap": "the chapter", "eq": "the equation"}

# Block level, on whole lines, before math is set aside.
_MD_LINE_RULES: _Rules = [
    (re.compile(r"<!--(?:(?!<!--).)*?-->|\{/\*(?:(?!\{/\*).)*?\*/\}", re.S), ""),  # HTML and MDX comments
    (re.compile(r"^[ \t]*:(?:label|eqlabel|width):`[^`]*`[ \t]*\n", re.M), ""),  # d2l anchors
    (re.compile(r"^import\s.*\bfrom\s+['\"].*$", re.M), ""),  # MDX imports
    (re.compile(r"^(?:>[ \t]?)*\[!\w+\][ \t]*$", re.M), ""),  # > [!TIP] callout markers
    (re.compile(r"^(?:>(?=[ \t>]|$)[ \t]?)+", re.M), ""),  # blockquote prefixes, not a tag's closing '>'
    (re.compile(r"^#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.M), r"\1"),  # headings: keep the text
    (re.compile(r"^\(\*\*(.+?)\*\*\)[ \t]*$", re.M), r"\1"),  # d2l heading marker (**Encoder**)
    (re.compile(r"^[ \t]*\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+(?:[ \t]*:?-{3,}:?)?[ \t]*\n", re.M), ""),  # table rule
    (re.compile(r"^[ \t]*\|(.*)\|[ \t]*$", re.M), lambda m: " | ".join(c.strip() for c in m[1].split("|"))),
    (re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$", re.M), ""),  # horizontal rules
    (re.compile(r"^([ \t]*)[*+](?=[ \t])", re.M), r"\1-"),  # bullets, so '*' is left to emphasis
    (re.compile(r"[ \t]*:cite:`[^`]*`"), ""),
    (re.compile(r":citet:`([^`]*)`"), lambda m: _cited_authors(m[1])),
    (re.compile(r"[ \t]*\(:(?:numref|eqref):`[^`]*`\)"), ""),  # "(:numref:`sec_x`)" says nothing as prose
    (re.compile(r"(\A|[.!?][ \t\n]+)?:(numref|eqref):`([^`]*)`"), lambda m: _reference(m[1], m[2], m[3])),
    (re.compile(r":(?:label|eqlabel|width):`[^`]*`"), ""),
]

# Inline, on prose only: never inside $math$ or `code`.
_MD_INLINE_RULES: _Rules = [
    (re.compile(r"(?<=\S)\\[ \t]*\n"), "\n\n"),  # a line ending in a backslash (a hard break) ends there: author lists
    (re.compile(r"\[\[[\w.-]+\]\]"), ""),  # hf-course heading anchors
    (re.compile(r"<img\b[^<>]*?\balt=\"([^\"]*)\"[^<>]*>", re.I), r"\1"),
    (re.compile(r"</?[A-Za-z][\w.:-]*(?:\s[^<>]*)?/?>"), ""),  # HTML / JSX tags, inner text stays
    (re.compile(r"\[!\[[^\[\]]*\]" + _URL + r"\]" + _URL), ""),  # linked images are badges and buttons
    (re.compile(r"!\[([^\[\]]*)\]" + _URL), lambda m: _as_sentence(m[1])),
    (re.compile(r"\[\*\*((?:(?!\[\*\*).)+?)\*\*\](?!\()", re.S), r"\1"),  # d2l [**marked text**]
    (re.compile(r"\[([^\[\]]*)\]" + _URL), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)((?:(?!\1).)+?)(?<=\S)\1", re.S), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])((?:[^*]|(?<=\w)\*(?=\w))+?)(?<=[^\s*])\*(?![\w*])", re.S), r"\1"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])((?:[^_]|(?<=\w)_(?=\w))+?)(?<=[^\s_])_(?![\w_])", re.S), r"\1"),
]


def clean_markdown(text: str, cited: list[Citation] | None = None) -> str:
    """Markdown/MDX to readable prose: code as its comments (BibTeX entries into `cited`), markup
    and d2l roles out; headings, tables and math kept."""
    text = _apply(_MD_LINE_RULES, _drop_blocks(_normalize_newlines(text), [] if cited is None else cited))
    text = _outside(
        _MATH_OR_CODE,
        text,
        lambda prose: html.unescape(_apply(_MD_INLINE_RULES, prose)),
        keep=lambda span: span.strip("`") if span.startswith("`") else span[1] if span.startswith("\\") else span,
    )
    return _tidy(text)


def _drop_blocks(text: str, cited: list[Citation] | None = None) -> str:
    """Fenced code as the words it holds (`code_words`), or nothing when `cited` is None; BibTeX
    blocks' entries into `cited`; d2l per-framework tab blocks out: they repeat the other tabs."""
    kept: list[str] = []
    seen: set[str] = set()
    end, language, block = None, "", []
    for line in text.split("\n"):
        if end:
            if not end.match(line):
                block.append(line)
                continue
            code = "\n".join(block)
            if end is not _TAB_END and cited is not None:
                if is_bibtex(code, language):
                    cited.extend(citations(code))
                else:
                    kept.extend(part for paragraph in code_words(code, language, seen) for part in ("", paragraph, ""))
            end = None
            kept.append("")  # a block of its own: the prose before it and after it are two paragraphs
        elif fence := _FENCE.match(line):
            end = re.compile(rf"[ \t]*{fence[1]}{fence[1][0]}*[ \t]*$")
            info = re.sub(r"[{}.]", " ", line[fence.end() :]).split()  # "python", "{.python .input}"
            language, block = (info[0] if info else ""), []
        elif _TAB_BEGIN.match(line):
            end = _TAB_END
        else:
            kept.append(line)
    return "\n".join(kept)


def _cited_authors(keys: str) -> str:
    """d2l citation keys as prose: 'Bahdanau.Cho.Bengio.2014' -> 'Bahdanau et al.'."""
    names = []
    for key in keys.split(","):
        words = [w for w in key.strip().split(".") if w and not w.isdigit()]
        surname = re.match(r"[A-Za-z-]*", words[0] if words else "")[0]
        names.append(surname[:1].upper() + surname[1:] + (" et al." if len(words) > 1 else ""))
    return " and ".join(n for n in names if n)


def _reference(sentence_start: str | None, role: str, key: str) -> str:
    """A d2l cross-reference as words, 'the figure' for fig_..., capitalized where a sentence starts."""
    noun = "the equation" if role == "eqref" else _REFERENCE_NOUNS.get(re.split(r"[_:]", key)[0], "the section")
    return noun if sentence_start is None else sentence_start + noun.capitalize()


def _as_sentence(caption: str) -> str:
    caption = caption.strip()
    return caption if not caption or caption[-1] in ".!?:" else caption + "."


def _markdown_title(text: str) -> str:
    heading = re.search(r"^#{1,6}[ \t]+(.+)$", _drop_blocks(_normalize_newlines(text)), re.M)
    return _first_line(clean_markdown(heading[0])) if heading else ""


def _read_markdown(text: str) -> tuple[str, str, list[Citation]]:
    cited: list[Citation] = []
    return _markdown_title(text), clean_markdown(text, cited), cited


# ---------------------------------------------------------------- LaTeX

_TEX_MATH = re.compile(
    r"(?<!\\)\$\$.+?(?<!\\)\$\$|(?<!\\)\$.+?(?<!\\)\$|\\\[(?:(?!\\\[).)+?\\\]|\\\((?:(?!\\\().)+?\\\)"
    r"|\\begin\{(equation|align|gather|multline|eqnarray)(\*?)\}(?:(?!\\begin\{\1\2\}).)+?\\end\{\1\2\}",
    re.S,
)
_TEX_RULES: _Rules = [
    (re.compile(r"\\(?:part|chapter|(?:sub)*section|(?:sub)?paragraph)\*?(?:\[[^\[\]]*\])?\{([^{}]*)\}"),
     r"\n\n\1\n\n"),
    (re.compile(r"\\begin\{[^}]*\}(?:\[[^\[\]]*\]|\{[^{}]*\})*|\\end\{[^}]*\}"), ""),  # environments: keep the body
    (re.compile(r"(?<![ \t~])[ \t~]*\\(?:cite\w*|label|ref|eqref|autoref|cref|includegraphics|bibliography\w*)\*?"
                r"(?:\[[^\[\]]*\])*\{[^{}]*\}"), ""),  # no prose in them
    (re.compile(r"\\href\{[^{}]*\}\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\footnote\{([^{}]*)\}"), r" (\1)"),
    (re.compile(r"\\item\b(?:\[([^\[\]]*)\])?[ \t]*"), lambda m: f"- {m[1]} " if m[1] else "- "),
    (re.compile(r"\\\\(?:\[[^\[\]]*\])?"), "\n"),
    (re.compile(r"\\([%&_#$])"), r"\1"),
    (re.compile(r"\\[A-Za-z]+\*?(?:\[[^\[\]]*\])?"), ""),  # \textbf{x}, \emph{x}, \caption{x}: command out, x stays
    (re.compile(r"[{}]"), ""),
    (re.compile(r"~"), " "),
]


def _read_latex(text: str) -> tuple[str, str, list[Citation]]:
    """A few regexes, not a LaTeX parser: section titles become lines, math stays as written."""
    text = re.sub(r"^[ \t]*%.*\n", "", text, flags=re.M)  # comment lines do not break paragraphs
    text = re.sub(r"(?<!\\)%.*", "", text)
    title = re.search(r"\\title(?:\[[^\[\]]*\])?\{((?:[^{}]|\{[^{}]*\})*)\}", text) or re.search(
        r"\\(?:sub)*section\*?\{([^{}]*)\}", text
    )
    if body := re.search(r"\\begin\{document\}(.*?)(?:\\end\{document\}|$)", text, re.S):
        text = body[1]
    text = _outside(_TEX_MATH, text, lambda prose: _apply(_TEX_RULES, prose))
    title_text = _first_line(" ".join(_apply(_TEX_RULES, title[1]).split())) if title else ""
    return title_text, _tidy(text), []


# ---------------------------------------------------------------- shared


_TEXT_READERS: dict[str, Callable[[str], tuple[str, str, list[Citation]]]] = {
    ".md": _read_markdown,
    ".mdx": _read_markdown,
    ".txt": _read_txt,
    ".tex": _read_latex,
}


def _apply(rules: _Rules, text: str) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def _outside(
    pattern: re.Pattern[str], text: str, clean: Callable[[str], str], keep: Callable[[str], str] = str
) -> str:
    """Run `clean` with every `pattern` match (math, code) set aside, then put them back untouched."""
    kept: list[str] = []

    def stash(match: re.Match[str]) -> str:
        kept.append(keep(match[0]))
        return f"\ue000{len(kept) - 1}\ue001"

    cleaned = clean(pattern.sub(stash, text))
    return re.sub("\ue000(\\d+)\ue001", lambda m: kept[int(m[1])], cleaned)


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # not tab or newline


# `<|endoftext|>` and kin: graphrag's tiktoken chunker refuses them, which would fail the build
_SPECIAL_TOKEN = re.compile(r"<\|([\w-]+)\|>")


def _normalize_newlines(text: str) -> str:
    """Unix newlines; no control characters (terminal escapes in a document must never reach
    a terminal through an answer); tokenizer special tokens spelled out as plain text."""
    text = _CONTROL_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _SPECIAL_TOKEN.sub(r"<| \1 |>", text)


def _tidy(text: str) -> str:
    """Trailing spaces off, repeated lines (light/dark image pairs) once, at most one blank line."""
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if not (line and lines and line == lines[-1]):
            lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _prettify_stem(stem: str) -> str:
    words = re.sub(r"[_\-.]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem
