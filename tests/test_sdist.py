"""The source distribution is complete: its license files, and what its own tests need to pass.

The sdist is built with the project's build backend (setuptools, from the test extra), unpacked,
and the tests that depend on data files (the event tables in ``tests/cases``, the Golden Rules
in ``tests/data``, README's blocks and diagram) run inside it against its own ``fsm_agent``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))"
PYTEST = ["-o", "addopts=", "-q", "-p", "no:cacheprovider"]
DATA_TESTS = ["tests/test_tables.py", "tests/test_segmenter_golden.py", "tests/test_readme.py"]


def test_the_sdist_holds_its_licenses_and_runs_its_own_tests(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-c", BUILD, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    archive = tmp_path / built.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    tree = tmp_path / archive.name.removesuffix(".tar.gz")

    metadata = (tree / "PKG-INFO").read_text(encoding="utf-8")
    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata
    assert "MIT License" in (tree / "LICENSE").read_text(encoding="utf-8")
    notice = (tree / "tests" / "data" / "golden_rules.NOTICE.txt").read_text(encoding="utf-8")
    assert "Permission is hereby granted" in notice
    assert sorted(p.name for p in (tree / "tests" / "cases").glob("*.toml")) == sorted(
        p.name for p in (ROOT / "tests" / "cases").glob("*.toml")
    )

    which = subprocess.run(
        [sys.executable, "-c", "import fsm_agent; print(fsm_agent.__file__)"],
        cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(which.stdout.strip()).is_relative_to(tree)  # the sdist's code, not the checkout's
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", *PYTEST, *DATA_TESTS],
        cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout[-3000:]
    passed = re.search(r"(\d+) passed", tested.stdout)
    assert passed and int(passed.group(1)) > 100, tested.stdout[-500:]  # the tables ran
