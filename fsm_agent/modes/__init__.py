"""The command's modes (run, chat, demo, replay, diagram) and what only they use.

Each mode is a module with ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args)``.
"""
