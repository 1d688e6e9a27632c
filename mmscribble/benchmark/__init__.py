# Copyright (c) mmscribble contributors. All rights reserved.
"""The benchmarks behind ``tools/benchmark/``: not part of ``import
mmscribble``.

``harness``: time and peak memory of one step in a fresh process (the
bench scripts' measurement). ``mscmr``: the MSCMR results table (its
rows, runs, statistics and report). Importing this package imports
neither; each is imported by name, and none changes anything global on
import.
"""
