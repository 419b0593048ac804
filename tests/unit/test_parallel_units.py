"""How `make test` cuts the suite into units for its workers (govdata_local.pytest_plugin): a platform folder is
one unit, except tests that start platforms of their own."""

from __future__ import annotations

import json
from collections import OrderedDict

from govdata_local.pytest_plugin import DURATIONS, hand_out_order, platform_folder
from govdata_shared.settings import REPO_ROOT


def test_the_shared_platforms_folders_are_one_unit_each() -> None:
    assert platform_folder("tests/e2e/test_data_sharing.py::test_x") == "tests/e2e"
    assert platform_folder("tests/browser/test_journey.py::test_journey") == "tests/browser"


def test_tests_with_platforms_of_their_own_and_other_layers_are_file_units() -> None:
    assert platform_folder("tests/e2e/own_platform/test_access_spool.py::test_x") is None
    assert platform_folder("gateway/tests/integration/test_dataplane.py::test_x[postgres]") is None
    assert platform_folder("tests/unit/test_k8s_manifests.py::test_x") is None


def test_platform_folders_then_the_known_long_units_longest_first_then_the_rest() -> None:
    # xdist's order: most tests first.
    queue = OrderedDict.fromkeys(["a_many.py", "b_long.py", "tests/e2e", "c.py", "d_longest.py", "tests/browser"])
    hand_out_order(queue, {"tests/e2e", "tests/browser"}, {"b_long.py": 30, "d_longest.py": 50, "gone.py": 99})
    assert list(queue)[:2] in (["tests/e2e", "tests/browser"], ["tests/browser", "tests/e2e"])
    assert list(queue)[2:] == ["d_longest.py", "b_long.py", "a_many.py", "c.py"]


def test_every_unit_with_a_duration_exists() -> None:
    """tests/durations.json names files and platform folders of the tree: a renamed one must be renamed there too."""
    durations = json.loads(DURATIONS.read_text(encoding="utf-8"))
    assert durations, "tests/durations.json is empty"
    missing = [unit for unit in durations if not (REPO_ROOT / unit).exists()]
    assert not missing, f"tests/durations.json names units that do not exist: {missing}"
