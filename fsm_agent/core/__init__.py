"""The pure core: the transition table, the controller, its events and the host's line protocol.

No threads, no I/O, no clock: events in, commands out.
"""
