"""Where records come from: the one protocol `build_cache` reads through.

A source (WFDB trees, Chapman-Shaoxing, PTB-XL, the synthetic trees written as WFDB) says

- `kind`: 'pretrain' (unknown labels kept) or 'downstream' (a labelled set);
- `items()`: what to read, a list of `WorkItem`s (listing problems, such as an unreadable
  folder, come back as items with `problem` set: they are rejected without being read);
- `read(item) -> EcgRecord`: one record with its labels (`rhythm`, `superclass`, `fold`...),
  raising `RecordError` with the reason when the record is unusable *for this source*: the
  label rule of a downstream set lives in its source, not in the cache builder;
- `describe() -> dict`: JSON-able, what the cache key hashes and meta.json records; its
  `where` entry names the location for messages;
- `input_stats()`: (path, size, mtime_ns) of every input file, also hashed into the key.

`read` runs in worker processes started by forkserver: the source and its items are pickled
for every record, so both stay small (paths, numbers and the item's own fields; no tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ecgmask.data.record import EcgRecord

KINDS: tuple[str, ...] = ("pretrain", "downstream")


@dataclass(frozen=True)
class WorkItem:
    """One record to read. `name` and `patient_id` are known before reading (exclusions and
    duplicate names are decided on them); `fields` holds what the source's tables say about
    the record (labels, expected length), read in the parent so workers need no table."""

    path: str  # the file named in rejected.csv
    name: str
    patient_id: str
    source: str  # the `source` column of the cache
    problem: str | None = None  # already known to be unusable: rejected with this reason, unread
    fields: dict = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    kind: str

    def items(self) -> list[WorkItem]: ...

    def read(self, item: WorkItem) -> EcgRecord: ...

    def describe(self) -> dict: ...

    def input_stats(self) -> list[tuple[str, int, int]]: ...


def as_sources(sources) -> list[Source]:
    """One source or an iterable of them, checked against the protocol, as a list."""
    if isinstance(sources, Source):
        return [sources]
    sources = list(sources)
    if not sources:
        raise ValueError("build_cache needs at least one source")
    for s in sources:
        if not isinstance(s, Source):
            raise TypeError(
                f"{s!r} is not a record source: it needs kind, items(), read(item), describe() and input_stats()"
            )
        if s.kind not in KINDS:
            raise ValueError(f"{s!r}: kind must be one of {', '.join(KINDS)}, got {s.kind!r}")
    return sources
