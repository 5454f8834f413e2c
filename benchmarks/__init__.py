"""Benchmarks for venice_nb's performance goals (issue 6).

Each module measures one goal against a baseline taken in the same run and returns ``Row``s with a
ratio, a target and PASS/MISS. ``python -m benchmarks.run`` (from the repo root) runs them all.
"""
