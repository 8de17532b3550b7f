"""The run store: the history of runs (SQLite), the runs read back, the diff of two runs, and the
waivers applied to a run's findings."""
