"""Reliability tests: faults, hostile input, concurrency, files and secrets (docs/RELIABILITY.md)."""
