"""A trial's start records: one per start of real work, oldest first, with where it ran."""

from __future__ import annotations

import socket

from sweep.store import files as store
from sweep.store.layout import PRETRAIN, SweepLayout


def test_start_records_keep_every_start_in_order(tmp_path, monkeypatch):
    sweep = SweepLayout(str(tmp_path))
    times = iter([200.0, 100.0])
    monkeypatch.setattr(store.time, "time", lambda: next(times))
    store.record_start(sweep, PRETRAIN, "mask-s1", resumed=True)
    store.record_start(sweep, PRETRAIN, "mask-s1", resumed=False)
    records = store.start_records(sweep, PRETRAIN, "mask-s1")
    assert [(r["time"], r["resumed"]) for r in records] == [(100.0, False), (200.0, True)]
    assert records[0]["host"] == socket.gethostname()
    assert set(records[0]) == {"key", "stage", "host", "pid", "time", "resumed"}
    assert store.starts(sweep, PRETRAIN, "mask-s1") == 2
    assert store.start_records(sweep, PRETRAIN, "other") == []
