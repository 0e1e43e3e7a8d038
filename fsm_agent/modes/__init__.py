"""The command's modes (run, chat, demo, replay, diagram) and what only they use.

Each mode is a module with ``add_arguments(parser)`` and ``main(args)``, named with its one-line
help in ``COMMANDS`` in ``fsm_agent/cli.py`` (so that ``--help`` imports no mode).
"""
