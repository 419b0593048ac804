"""How `make test` cuts the suite into units for its workers (govdata_local.pytest_plugin): a platform folder is
one unit, except tests that start platforms of their own."""

from __future__ import annotations

from govdata_local.pytest_plugin import platform_folder


def test_the_shared_platforms_folders_are_one_unit_each() -> None:
    assert platform_folder("tests/e2e/test_data_sharing.py::test_x") == "tests/e2e"
    assert platform_folder("tests/browser/test_journey.py::test_journey") == "tests/browser"


def test_tests_with_platforms_of_their_own_and_other_layers_are_file_units() -> None:
    assert platform_folder("tests/e2e/own_platform/test_access_spool.py::test_x") is None
    assert platform_folder("gateway/tests/integration/test_dataplane.py::test_x[postgres]") is None
    assert platform_folder("tests/unit/test_k8s_manifests.py::test_x") is None
