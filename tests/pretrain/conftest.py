import importlib.util
import sys
from pathlib import Path

import pytest

# tests/pretrain/support.py under one module name (pytest runs with --import-mode=importlib)
_NAME = "ecgmask_tests_pretrain_support"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parent / "support.py")
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])


@pytest.fixture
def cache():
    return sys.modules[_NAME].MemoryCache()
