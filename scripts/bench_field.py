#!/usr/bin/env python
"""Benchmark trained fields (same as `naf bench`): latency, throughput, map time, size, held-out errors.

.venv/bin/python scripts/bench_field.py [CHECKPOINT ...] [--json bench.json] [--train-speed]
"""

import sys

from naf_model.cli.bench import main

if __name__ == "__main__":
    sys.exit(main())
