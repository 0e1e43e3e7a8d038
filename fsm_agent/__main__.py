"""The ``fsm-agent`` command's entry point, also ``python -m fsm_agent``.

The quit signals are taken before anything else is imported, so that a host that stops us
while we start (the imports take a few hundred milliseconds) sees status 0, not -15. The
installed command (``[project.scripts]``) starts here too, not at ``fsm_agent.cli``, whose
imports would come first.
"""

import os
import signal
import sys


def _exit_now(*_: object) -> None:
    # Not SystemExit: an exception raised by a signal handler is lost when the signal lands in a
    # __del__ (the regex parser's objects have one, and start-up compiles hundreds of patterns),
    # and we would start up and wait for input. Nothing is open yet that needs closing.
    os._exit(0)


def take_quit_signals() -> dict[int, object]:
    """Make Ctrl-C, SIGTERM and (Windows) SIGBREAK end the process with status 0 at once.

    Returns:
        The handlers replaced, by signal number.

    """
    originals: dict[int, object] = {}
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signum = getattr(signal, name)
            originals[signum] = signal.signal(signum, _exit_now)
    return originals


def main() -> int:
    """Take the quit signals for start-up, then run the command line.

    ``cli.main`` takes the same signals again, and the AnyScript loop then takes them for a
    clean shutdown; the other modes get back the handlers from before this.

    Returns:
        The exit status.

    """
    originals = take_quit_signals()

    from fsm_agent.cli import main as cli_main

    return cli_main(original_signals=originals)


if __name__ == "__main__":
    sys.exit(main())
