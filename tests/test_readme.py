"""README.md stays true: its diagram is the generated one, its commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_shows_the_generated_mermaid_diagram() -> None:
    mmd = (ROOT / "diagrams" / "controller.mmd").read_text(encoding="utf-8").rstrip("\n")
    blocks = re.findall(r"```mermaid\n(.*?)\n```", README, flags=re.S)
    assert mmd in blocks, (
        "README.md's mermaid block differs from diagrams/controller.mmd: paste the file's "
        "content into the block after running `fsm-agent diagram -o diagrams/controller.mmd`"
    )


def test_readme_has_the_install_and_test_blocks_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for name in ("install", "test"):
        assert f"<!-- {name} -->" in README and f"<!-- /{name} -->" in README
        assert f"block {name}" in ci
    assert "fsm-agent demo" in README.split("<!-- test -->")[0]
