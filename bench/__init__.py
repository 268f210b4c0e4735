"""Benchmarks of bullet-trade server against the published package and a bare asyncio ceiling.

Run ``python -m bench`` (or ``make bench``) from the repository root; ``--quick`` is the short
CI smoke. Every figure is measured in one run, side by side, over 127.0.0.1, with bounded
loads that stop by themselves. Results: a Markdown table on stdout and in
``bench/results/latest.md``. See ``docs/performance.md`` for the method and the latest figures.
"""
