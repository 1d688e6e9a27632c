# Copyright (c) mmscribble contributors. All rights reserved.
"""The MSCMR results table behind ``tools/benchmark/mscmr_table.py``.

* ``rows``: the table's rows (one per config of
  ``configs/benchmark/mscmr/``), their seeds, the config each run trains
  (split, ``--iters`` rescaling, overrides) and the key that reuses a
  finished run.
* ``converged``: the ``--converged`` preset (schedule, speed switches,
  rows and their seed counts of the converged comparison, issue 25).
* ``checks``: what is checked (and written) before the first run.
* ``schedule``: the runs on ``--jobs`` threads, each once its source ran.
* ``runs``: one (row, seed) run in a fresh process, the pseudo-label step,
  the reuse of finished runs.
* ``stats``: mean / deviation over seeds (Dice, HD95, ASD) and the paired
  crossed bootstrap.
* ``report``: the markdown table and the raw JSON.
* ``files``: the lock on the work folder (one table command at a time),
  files written atomically, JSON read with the file named in its errors.

Nothing is imported here: ``import mmscribble`` does not import this
package, and importing it changes nothing global.
"""
