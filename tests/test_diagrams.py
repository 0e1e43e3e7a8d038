"""The committed diagrams match what the code draws now, and draw every transition."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fsm_agent import cli
from fsm_agent.core.table import TRANSITIONS
from fsm_agent.modes import diagram

DIAGRAMS = Path(__file__).resolve().parent.parent / "diagrams"
REFRESH = (
    "refresh them with: fsm-agent diagram -o diagrams/controller.mmd && "
    "fsm-agent diagram --format svg -o diagrams/controller.svg"
)


def _sources(row: object) -> tuple[str, ...]:
    source = row.source  # type: ignore[attr-defined]
    return source if isinstance(source, tuple) else (source,)


def test_committed_mermaid_is_current() -> None:
    committed = (DIAGRAMS / "controller.mmd").read_text(encoding="utf-8")
    assert committed == diagram.to_mermaid(), f"diagrams/controller.mmd is stale; {REFRESH}"


def test_mermaid_is_the_same_every_time() -> None:
    assert diagram.to_mermaid() == diagram.to_mermaid()


def test_mermaid_draws_every_row_of_the_table() -> None:
    text = diagram.to_mermaid()
    assert "  [*] --> Idle\n" in text
    edges: dict[tuple[str, str], list[str]] = {}
    for line in text.splitlines():
        if " --> " in line and ": " in line:
            arrow, labels = line.strip().split(": ", 1)
            src, dst = arrow.split(" --> ")
            edges[(src, dst)] = labels.split("<br>")
    for row in TRANSITIONS:
        for state in _sources(row):
            label = row.trigger
            if row.guard:
                label += f" [{row.guard}]"
            if row.after:
                label += f" / {row.after}"
            drawn = edges.get((state, row.dest or state), [])
            assert label in drawn, f"{label!r} from {state} is not drawn: {drawn}"


def _labels(svg: bytes) -> list[str]:
    """Every node/edge title and text of a Graphviz SVG: what it shows, whatever the version."""
    root = ET.fromstring(svg)
    found = [
        (element.text or "").strip()
        for element in root.iter()
        if element.tag.rsplit("}", 1)[-1] in ("title", "text")
    ]
    return sorted(text for text in found if text)


def test_committed_svg_is_current() -> None:
    problem = diagram.missing("svg")
    if problem:
        pytest.skip(f"cannot check diagrams/controller.svg: {problem}")
    committed = _labels((DIAGRAMS / "controller.svg").read_bytes())
    current = _labels(diagram.render("svg"))
    assert committed == current, f"diagrams/controller.svg is stale; {REFRESH}"


def test_dot_draws_every_trigger_and_guard() -> None:
    problem = diagram.missing("dot")
    if problem:
        pytest.skip(problem)
    source = diagram.to_dot()
    assert "Idle [label=" in source and "peripheries=2" in source  # drawn in its initial state
    for row in TRANSITIONS:
        assert row.trigger in source
        for condition in (*row.conditions, *row.unless):
            assert condition in source
    assert diagram.to_dot() == source


def test_mermaid_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diagram"]) == 0
    assert capsys.readouterr().out == diagram.to_mermaid()


def test_mermaid_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "m.mmd"
    assert cli.main(["diagram", "--format", "mermaid", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == diagram.to_mermaid()


def _needs(fmt: str) -> None:
    problem = diagram.missing(fmt)
    if problem:
        pytest.skip(problem)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("c.mmd", "mermaid"), ("c.gv", "dot"), ("C.DOT", "dot"), ("c.svg", "svg"), ("c", "mermaid")],
)
def test_the_format_follows_the_file_name(name: str, fmt: str, tmp_path: Path) -> None:
    _needs(fmt)
    out = tmp_path / name
    assert cli.main(["diagram", "-o", str(out)]) == 0
    data = out.read_bytes()
    if fmt == "mermaid":
        assert data.decode("utf-8") == diagram.to_mermaid()
    elif fmt == "dot":
        assert data.decode("utf-8") == diagram.to_dot()
    else:
        assert _labels(data) == _labels(diagram.render("svg"))


def test_png_by_its_name(tmp_path: Path) -> None:
    _needs("png")
    out = tmp_path / "c.png"
    assert cli.main(["diagram", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_markdown_gets_a_fenced_mermaid_block(tmp_path: Path) -> None:
    out = tmp_path / "controller.md"
    assert cli.main(["diagram", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == f"```mermaid\n{diagram.to_mermaid()}```\n"


def test_dash_is_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["diagram", "-o", "-"]) == 0
    assert capsys.readouterr().out == diagram.to_mermaid()
    assert list(tmp_path.iterdir()) == []  # no file named "-"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--format", "mermaid", "-o", "{dir}/x.svg"], "--format mermaid contradicts -o"),
        (["--format", "svg", "-o", "{dir}/x.mmd"], "--format svg contradicts -o"),
        (["-o", "{dir}/x.jpg"], "cannot tell the format from 'x.jpg'"),
        (["-o", "{dir}"], "it is a directory"),
        (["-o", "{dir}/missing/x.mmd"], "does not exist"),
        (["-o", "{dir}/file.txt/x.mmd"], "does not exist"),
    ],
)
def test_bad_output_is_one_line_and_writes_nothing(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "file.txt").write_text("not a directory", encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    assert cli.main(["diagram", *(f.format(dir=tmp_path) for f in flags)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and message in captured.err, captured.err
    assert captured.err.startswith("fsm-agent diagram: ")
    assert sorted(tmp_path.rglob("*")) == before


def test_a_write_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def refuse(self: Path, data: bytes) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_bytes", refuse)
    assert cli.main(["diagram", "-o", str(tmp_path / "x.mmd")]) == 1
    err = capsys.readouterr().err
    assert err == f"fsm-agent diagram: cannot write {tmp_path / 'x.mmd'}: Permission denied\n"


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_missing_dot_is_one_line(
    fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_args, **_kw: None)
    assert cli.main(["diagram", "--format", fmt, "-o", str(tmp_path / f"x.{fmt}")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "'dot' program" in lines[0]
    assert "apt-get install graphviz" in lines[0] and "winget install graphviz" in lines[0]
    assert not (tmp_path / f"x.{fmt}").exists()


def test_missing_package_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = diagram.importlib.util.find_spec
    monkeypatch.setattr(
        diagram.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "graphviz" else real(name, *a),
    )
    assert cli.main(["diagram", "--format", "dot"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "python -m pip install graphviz" in captured.err


def test_readme_says_how_to_refresh() -> None:
    readme = (DIAGRAMS / "README.md").read_text(encoding="utf-8")
    assert "fsm-agent diagram -o diagrams/controller.mmd" in readme
    assert "fsm-agent diagram --format svg -o diagrams/controller.svg" in readme
