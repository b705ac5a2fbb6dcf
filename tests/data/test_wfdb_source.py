"""`WfdbSource` and the tree walk it lists records with (`ecgmask.data.wfdb_source`, `ecgmask.data.tree`)."""

import pytest

from ecgmask.data.tree import list_wfdb_headers
from ecgmask.data.wfdb_source import WfdbSource

from .conftest import write_record


def test_source_lists_headers_recursively(tmp_path):
    write_record(tmp_path / "g1", "A1")
    write_record(tmp_path / "g2" / "deep", "A2")
    write_record(tmp_path / ".hidden", "A3")
    assert [p.name for p in list_wfdb_headers(tmp_path)] == ["A1.hea", "A2.hea"]
    items = WfdbSource([tmp_path]).items()
    assert [i.source for i in items] == [tmp_path.name] * 2
    with pytest.raises(FileNotFoundError, match="not a directory"):
        WfdbSource([tmp_path / "nope"]).items()
