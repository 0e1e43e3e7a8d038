"""``python -m fsm_agent`` does what the ``fsm-agent`` command does."""

import signal
import sys


def _exit_now(*_: object) -> None:
    raise SystemExit(0)


# Before anything else is imported: a quit signal during start-up exits 0 (``cli.main`` takes
# the same signals again, and the AnyScript loop then takes them for a clean shutdown).
_originals = {}
for _name in ("SIGINT", "SIGTERM", "SIGBREAK"):
    if hasattr(signal, _name):
        _signum = getattr(signal, _name)
        _originals[_signum] = signal.signal(_signum, _exit_now)

from fsm_agent.cli import main  # noqa: E402

sys.exit(main(original_signals=_originals))
