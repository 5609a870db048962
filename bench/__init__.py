"""
Benchmark harness: a load generator, the tutorial-style baseline it compares
the project against, and the runner that ties them together.

Usage (from the project root): ``.venv/bin/python bench/run.py --help``;
see bench/README.md.
"""
