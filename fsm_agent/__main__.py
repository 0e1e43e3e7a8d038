"""``python -m fsm_agent`` does what the ``fsm-agent`` command does."""

import sys

from fsm_agent.cli import main

sys.exit(main())
