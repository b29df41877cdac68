"""The soak suite: real workers, a real Redis, many clients, faults injected, everything counted.

`python -m soak` (or `make soak`) runs every scenario at full size and prints the counts;
tests/integration/test_soak.py runs each at a short size as part of `make test`.
"""
