"""A sweep's storage: the layer below both the trainables and the driver.

- `layout`: which folder and file of a sweep is where (no Ray, no torch);
- `files`: the I/O on them, local or `s3://` (atomic JSON, publishing and fetching directories,
  the start audit trail, recorded failures);
- `staging`: where a trial writes a checkpoint before Tune copies it;
- `provenance`: the commit, versions, command and machine behind a result;
- `lock`: one driver per sweep.

`trainables/` and `analysis/` import this package and nothing else of `sweep/`; the driver
(`sweep/run.py`, `sweep/pipeline.py`) imports all three.
"""
