"""tests/lanes.py names test files and tests by path: a rename must not silently drop a test
from the SQLite lane (the lane runs only what it finds, and finding nothing is not an error)."""

import ast
from pathlib import Path

from tests.lanes import EMBEDDED, POSTGRES_ONLY

ROOT = Path(__file__).resolve().parent.parent.parent


def missing_files(paths) -> list[str]:
    """The paths, relative to the repository, that name no file."""
    return [path for path in paths if not (ROOT / path).is_file()]


def missing_tests(node_ids) -> list[str]:
    """The `path::test_name` ids whose file does not define that test function."""
    missing = []
    for node_id in node_ids:
        path, _sep, name = node_id.partition("::")
        name = name.split("[", 1)[0]  # a parametrized id names the function before its [...]
        file = ROOT / path
        defined = file.is_file() and any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
            for node in ast.parse(file.read_text(encoding="utf-8")).body
        )
        if not defined:
            missing.append(node_id)
    return missing


def test_every_file_of_the_sqlite_lane_exists():
    assert missing_files(EMBEDDED) == []


def test_every_test_left_out_of_the_sqlite_lane_exists():
    assert missing_tests(POSTGRES_ONLY) == []


def test_every_test_left_out_is_in_a_file_of_the_lane():
    # Leaving out a test of a file the lane does not run is a no-op: probably a stale entry.
    assert [node_id for node_id in POSTGRES_ONLY if node_id.split("::")[0] not in EMBEDDED] == []


def test_the_checks_see_a_renamed_file_and_a_renamed_test():
    assert missing_files(["tests/bonding/test_lanes.py", "tests/bonding/test_gone.py"]) == [
        "tests/bonding/test_gone.py"
    ]
    assert missing_tests(
        [
            "tests/bonding/test_lanes.py::test_every_file_of_the_sqlite_lane_exists",
            "tests/bonding/test_lanes.py::test_that_was_renamed[sqlite]",
            "tests/bonding/test_gone.py::test_every_file_of_the_sqlite_lane_exists",
        ]
    ) == [
        "tests/bonding/test_lanes.py::test_that_was_renamed[sqlite]",
        "tests/bonding/test_gone.py::test_every_file_of_the_sqlite_lane_exists",
    ]
