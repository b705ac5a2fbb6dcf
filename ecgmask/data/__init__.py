"""ECG data: the record type, readers and sources, labels, preprocessing, the memory-mapped cache,
splits; the generated corpora (synthetic, DeepFake) in `ecgmask.data.corpora`.

The interface every other part codes against (docs/architecture.md, "Data"):
`LEADS`, `PreprocessParams`, `build_cache` (with sources: `WfdbSource` / `ChapmanSource` /
`PtbxlSource` / `LudbSource`, the `Source` protocol), `EcgCache` (`check_cache`, `CacheError`), `split_indices`, `fraction_indices`, `task_labels`, `default_study`.
"""

from ecgmask.data.cache import CacheError, EcgCache, NoUsableRecords, build_cache, check_cache, format_summary
from ecgmask.data.chapman import ChapmanSource
from ecgmask.data.labels import RHYTHM_CLASSES, SEX_CLASSES
from ecgmask.data.leads import LEADS
from ecgmask.data.ludb import LudbSource
from ecgmask.data.preprocess import PreprocessParams
from ecgmask.data.ptbxl import PtbxlSource
from ecgmask.data.record import EcgRecord, RecordError
from ecgmask.data.sources import Source, WorkItem
from ecgmask.data.splits import fraction_indices, split_indices
from ecgmask.data.wfdb_reader import read_wfdb_record
from ecgmask.data.wfdb_source import WfdbSource
from ecgmask.tasks import task_labels  # the task registry's, re-exported for data-level checks


def default_study(*args, **kwargs):
    """The two synthetic caches of the default study; see ecgmask.data.corpora.synthetic.default_study."""
    from ecgmask.data.corpora.synthetic import default_study as _default_study

    return _default_study(*args, **kwargs)


__all__ = [
    "LEADS",
    "RHYTHM_CLASSES",
    "SEX_CLASSES",
    "CacheError",
    "ChapmanSource",
    "EcgCache",
    "EcgRecord",
    "LudbSource",
    "NoUsableRecords",
    "PreprocessParams",
    "PtbxlSource",
    "RecordError",
    "Source",
    "WfdbSource",
    "WorkItem",
    "build_cache",
    "check_cache",
    "default_study",
    "format_summary",
    "fraction_indices",
    "read_wfdb_record",
    "split_indices",
    "task_labels",
]
