import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("ecgmask_tests_ray_fixture", Path(__file__).parents[1] / "ray_fixture.py")
ray_fixture = sys.modules.get("ecgmask_tests_ray_fixture") or importlib.util.module_from_spec(_spec)
if "ecgmask_tests_ray_fixture" not in sys.modules:
    sys.modules["ecgmask_tests_ray_fixture"] = ray_fixture
    _spec.loader.exec_module(ray_fixture)

ray_session = ray_fixture.ray_session
