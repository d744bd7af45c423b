"""Client-cost benchmarks for aiomsg.

Run ``python -m benchmarks --help`` from the repository root; see ``benchmarks/README.md``.
"""
