"""Benchmarks of buildcrew itself: the scripted model answers after a fixed latency, so the figures measure
the graph, the tools and the checkpointer, not a provider.

``python -m bench`` runs the full set and writes ``docs/benchmarks.md``; ``python -m bench --quick`` runs
tiny sizes once, as ``tests/test_bench.py`` does so the benchmarks cannot rot.
"""
