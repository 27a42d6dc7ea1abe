"""Walk-forward optimisation maths (SPEC §7): windows, combo grids, scoring, robustness and grading.

Pure, deterministic functions over plain values and numpy arrays: no Ray, no database, no engine. The
orchestrator runs the engine per window and hands the metrics arrays to `aggregate`.
"""
