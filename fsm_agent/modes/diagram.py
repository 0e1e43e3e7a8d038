"""``fsm-agent diagram``: draw the controller's state machine from its one transition table.

The machine is built by ``transitions.extensions.GraphMachine`` from ``fsm_agent.core.table``, the
same declaration the controller runs, in its initial state, so the drawing is the same every time.

- ``mermaid`` (default): a Mermaid ``stateDiagram-v2`` that GitHub renders inline. It is written
  from the machine's own transitions (trigger, guard, action); it needs nothing but
  ``transitions``.
- ``dot``: the Graphviz source GraphMachine draws (needs the ``graphviz`` Python package).
- ``svg`` / ``png``: that source rendered by Graphviz's ``dot`` program (needs the package and
  the program).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any, ClassVar

from transitions.extensions import GraphMachine

from fsm_agent.core.table import STATES, machine_transitions

FORMATS: tuple[str, ...] = ("mermaid", "dot", "svg", "png")
TITLE = "fsm-agent controller"
INITIAL = "Idle"

_GET_PACKAGE = "python -m pip install graphviz"  # not 'fsm-agent[diagrams]': not on an index
_GET_DOT = "apt-get install graphviz / brew install graphviz / winget install graphviz"


class MissingTool(RuntimeError):
    """A format needs something that is not installed; the message says what and how to get it."""


class _Model:
    """A bare model: drawing never fires a trigger, so the guards and actions need no code."""


class _Machine(GraphMachine):
    """GraphMachine with more room between states, so the edge labels do not overlap."""

    machine_attributes: ClassVar[dict[str, str]] = {
        **GraphMachine.machine_attributes,
        "ranksep": "1.2",
        "nodesep": "0.9",
    }


def machine(graph_engine: str = "mermaid") -> GraphMachine:
    """Build the controller's machine from ``fsm_agent.core.table``, in its initial state.

    Args:
        graph_engine: ``"mermaid"`` (needs nothing else) or ``"graphviz"`` (needs the
            ``graphviz`` package: check with :func:`missing` first, as ``transitions`` silently
            falls back to mermaid without it).

    Returns:
        The machine; its model is ``machine.model``.

    """
    return _Machine(
        model=_Model(),
        states=list(STATES),
        transitions=machine_transitions(),
        initial=INITIAL,
        auto_transitions=False,
        ignore_invalid_triggers=True,
        graph_engine=graph_engine,
        show_conditions=True,
        title=TITLE,
    )


def _guard(transition: Any) -> str:
    terms = [c.func if c.target else f"not {c.func}" for c in transition.conditions]
    return " and ".join(str(t) for t in terms)


def _label(trigger: str, transition: Any) -> str:
    text = trigger
    guard = _guard(transition)
    if guard:
        text += f" [{guard}]"
    actions = [a for a in transition.after if isinstance(a, str)]
    if actions:
        text += " / " + ", ".join(actions)
    return text


def to_mermaid() -> str:
    """Return the machine as a Mermaid ``stateDiagram-v2``.

    One arrow per (source, destination) pair; its label lists, one per line, every transition
    between them as ``trigger [guard] / action``, in the order the table declares them. A
    transition that stays in its state (no destination) is drawn as a loop.
    """
    m = machine("mermaid")
    edges: dict[tuple[str, str], list[str]] = {}
    for state in STATES:
        for event in m.events.values():
            for transition in event.transitions.get(state, []):
                dest = transition.dest or state
                edges.setdefault((state, dest), []).append(_label(event.name, transition))
    lines = [
        "---",
        f"title: {TITLE}",
        "---",
        "stateDiagram-v2",
        "  direction LR",
        f"  [*] --> {m.initial}",
    ]
    lines += [f"  {src} --> {dst}: {'<br>'.join(labels)}" for (src, dst), labels in edges.items()]
    return "\n".join(lines) + "\n"


def missing(fmt: str) -> str | None:
    """Say in one line what ``fmt`` needs that is not installed, or None when all is there."""
    if fmt == "mermaid":
        return None
    needs: list[str] = []
    if importlib.util.find_spec("graphviz") is None:
        needs.append(f"the graphviz Python package ({_GET_PACKAGE})")
    if fmt in ("svg", "png") and shutil.which("dot") is None:
        needs.append(f"the Graphviz 'dot' program ({_GET_DOT})")
    if not needs:
        return None
    return f"{fmt} output needs {' and '.join(needs)}"


def to_dot() -> str:
    """Return the Graphviz source of the machine as GraphMachine draws it.

    Transitions between the same two states are drawn as one edge, each on a line of its own.

    Raises:
        MissingTool: If the ``graphviz`` Python package is not installed.

    """
    problem = missing("dot")
    if problem:
        raise MissingTool(problem)
    graph = machine("graphviz").model.get_graph()
    # GraphMachine joins the transitions of one edge with " | " on one line; one per line reads
    # better. Only edge labels are touched, and no trigger or condition name contains " | ".
    graph.body[:] = [line.replace(" | ", "\\n") if " -> " in line else line for line in graph.body]
    return str(graph.source)


def render(fmt: str, path: Path | None = None) -> bytes:
    """Draw the machine in ``fmt`` and write it to ``path`` (when given).

    Args:
        fmt: One of :data:`FORMATS`.
        path: Where to write (its directory must exist); None only returns the bytes.

    Returns:
        The drawing: UTF-8 text for mermaid, dot and svg; PNG bytes for png.

    Raises:
        MissingTool: If the format needs the graphviz package or the dot program and it is
            not installed.
        ValueError: For an unknown format.
        OSError: If ``path`` cannot be written.

    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {fmt!r}; use one of {', '.join(FORMATS)}")
    problem = missing(fmt)
    if problem:
        raise MissingTool(problem)
    if fmt == "mermaid":
        data = to_mermaid().encode("utf-8")
    elif fmt == "dot":
        data = to_dot().encode("utf-8")
    else:
        import graphviz

        try:
            data = graphviz.Source(to_dot()).pipe(format=fmt)
        except graphviz.ExecutableNotFound as exc:
            raise MissingTool(
                f"{fmt} output needs the Graphviz 'dot' program ({_GET_DOT})"
            ) from exc
    if path is not None:
        path.write_bytes(data)
    return data


# ---- the command --------------------------------------------------------------------------

EXTENSIONS: dict[str, str] = {
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".md": "mermaid",
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
}
"""The format a file name implies (``.md`` gets the Mermaid text inside a fenced block)."""

STDOUT = Path("-")


class OutputError(ValueError):
    """The output path or format cannot be used; the message says why in one line."""


def choose(fmt: str | None, path: Path | None) -> tuple[str, Path | None]:
    """Decide the format and where to write it from ``--format`` and ``-o``.

    The format comes from ``--format``, else from the file's extension, else Mermaid. Images
    go to ``controller.svg``/``controller.png`` without ``-o``; ``-o -`` is standard output.

    Args:
        fmt: ``--format``, or None when not given.
        path: ``-o``, or None when not given.

    Returns:
        The format, and the file to write (None: standard output).

    Raises:
        OutputError: When ``--format`` contradicts the extension, the extension means no
            format, or the path cannot be a file to write.

    """
    implied: str | None = None
    if path is not None and path != STDOUT and path.suffix:
        implied = EXTENSIONS.get(path.suffix.lower())
        if implied is None:
            known = ", ".join(EXTENSIONS)
            if fmt is None:
                raise OutputError(
                    f"cannot tell the format from {path.name!r}: name it {known}, or give --format"
                )
        elif fmt is not None and fmt != implied:
            raise OutputError(
                f"--format {fmt} contradicts -o {path}, whose name means {implied}: "
                "drop --format or rename the file"
            )
    chosen = fmt or implied or "mermaid"
    if path is None:
        return chosen, Path(f"controller.{chosen}") if chosen in ("svg", "png") else None
    if path == STDOUT:
        return chosen, None
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory; name a file in it")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: the directory {path.parent} does not exist")
    return chosen, path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--format`` and ``-o``."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="mermaid (needs nothing), dot (needs the graphviz package), svg or png (need "
        "Graphviz too); default: from the -o file name (.mmd .md .dot .gv .svg .png), else mermaid",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="PATH",
        default=None,
        help="write here; '-' is stdout (default: stdout for mermaid and dot, "
        "controller.svg/.png for images)",
    )


def main(args: argparse.Namespace) -> int:
    """Write the diagram; 1 with a one-line message when it cannot."""
    try:
        fmt, path = choose(args.format, args.output)
        data = render(fmt)
        if fmt == "mermaid" and path is not None and path.suffix.lower() == ".md":
            data = b"```mermaid\n" + data + b"```\n"
        if path is None and fmt == "png":
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        elif path is None:
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
        else:
            path.write_bytes(data)
    except (MissingTool, OutputError) as exc:
        print(f"fsm-agent diagram: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"fsm-agent diagram: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    if path is not None:
        print(f"wrote {path}", file=sys.stderr)
    return 0
