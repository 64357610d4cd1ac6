"""The experiment harness: measure runtime and memory of modes' forward and reverse modes.

``python experiments/run_all.py`` runs every experiment in ``experiments.suite`` and writes tidy CSV
tables, plots and ``REPORT.md`` to ``results/``. One idea per module:

* ``timing``        timeit-style auto-ranged, interleaved, repeated runtime measurement
* ``memory_probe``  peak RSS of one computation in a fresh subprocess (psutil sampling thread)
* ``safety``        memory estimates against the available memory, per-trial time limits
* ``store``         the resumable tidy CSV (one row per trial)
* ``runner``        one trial -> rows (skips, time limits and failures become rows too)
* ``problems``      the functions being differentiated
* ``analysis``      every number the report states, computed from the tables
* ``plots`` / ``report``  figures and ``REPORT.md``, made from the CSVs only
* ``machine``, ``progress``  machine description; a dependency-free progress bar on stderr
"""
