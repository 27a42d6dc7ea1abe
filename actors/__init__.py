"""Ray shells around `radar` objects (live actors, the WFO fan-out and job manager).

Kept import-light on purpose: importing `actors` must not import Ray; each module imports it itself
(`actors.sweep`, `actors.job_manager`, ...)."""
