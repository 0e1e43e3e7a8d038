"""The command line's settings flags, made from the Settings fields, and the settings they give.

Every flag is generated from its field's metadata (see ``fsm_agent.core.settings.setting``): the
name, the type, the help text, the argument name, the choices and the default shown, so a
default is stated once, on the field.
"""

from __future__ import annotations

import argparse
from dataclasses import Field, fields, replace
from pathlib import Path

from fsm_agent.config.load import load_settings
from fsm_agent.core.settings import SETTING_NAMES, Settings


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


_KINDS: dict[str, object] = {"int": _whole_number, "float": _number, "Path": Path}


def settings_parser(omit: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """The options every mode shares: ``--config`` and one flag for each Settings field.

    Args:
        omit: Settings a mode has no use for (``demo`` calls no server): no flag for them.

    Returns:
        A parent parser (no ``-h``); absent flags leave no attribute, so that only what the
        user gave overrides the other sources.

    """
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("settings (also TOML keys and FSM_AGENT_* variables)")
    g.add_argument(
        "--config", type=Path, metavar="FILE", default=argparse.SUPPRESS, help="TOML settings file"
    )
    for f in fields(Settings):
        if f.name not in omit:
            _add_flag(g, f)
    return p


def _add_flag(group: argparse._ArgumentGroup, f: Field[object]) -> None:
    meta = f.metadata
    flag = "--" + f.name.replace("_", "-")
    shown = meta.get("shown_default") or _shown(f.default)
    help_text = f"{meta['help']} (default: {shown})"
    kind = str(f.type)
    if kind == "bool":
        group.add_argument(
            flag, action="store_const", const=True, default=argparse.SUPPRESS, help=meta["help"]
        )
        return
    options: dict[str, object] = {"default": argparse.SUPPRESS, "help": help_text}
    base = kind.split(" | ")[0]
    if base in _KINDS:
        options["type"] = _KINDS[base]
    if meta.get("choices"):
        options["choices"] = meta["choices"]
        if f.name == "log_level":
            options["type"] = str.lower
    if meta.get("metavar"):
        options["metavar"] = meta["metavar"]
    group.add_argument(flag, **options)  # type: ignore[arg-type]


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Load the settings with the flags the user gave on top.

    Raises:
        ConfigError: When a setting is wrong; ``main`` prints it in one line.

    """
    given = {k: v for k, v in vars(args).items() if k in SETTING_NAMES}
    settings = load_settings(getattr(args, "config", None), given)
    return replace(settings, system_prompt=settings.resolved_prompt(), prompt_file=None)


def _shown(default: object) -> str:
    if default is None:
        return "none"
    return format(default, "g") if isinstance(default, float) else str(default)
