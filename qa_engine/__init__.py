"""GraphRAG question answering over attention literature."""
