"""The host that stands in for MMDAgent-EX in ``fsm-agent chat``: shows or speaks each sentence.

It keeps MMDAgent-EX's rules for one character (PROTOCOL.md, Plugin_Open_JTalk):

- ``SYNTH_START|alias|voice|text`` -> ``SYNTH_EVENT_START|alias`` at once, then
  ``SYNTH_EVENT_STOP|alias`` when the sentence has been said.
- ``SYNTH_START`` is not queued: one that arrives while a sentence is still being said cuts that
  sentence off (its program is terminated), then ``SYNTH_EVENT_STOP`` for the old sentence and
  ``SYNTH_EVENT_START`` for the new one follow, in that order. So a sentence the controller gave
  up waiting for can never end in the middle of the next one and release a third one early.
- ``SYNTH_STOP|alias`` cuts the sentence off and its ``SYNTH_EVENT_STOP`` follows; with nothing
  being said, nothing follows.

Children are ended with ``Popen.terminate`` (``kill`` if that is ignored), which works the same
on Windows, and :meth:`TerminalHost.close` ends any that is left.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable

from fsm_agent.modes.tts import TtsProgram

__all__ = ["TerminalHost"]

log = logging.getLogger("fsm_agent.modes.chat")

_GRACE = 2.0
"""Seconds a terminated program has to exit before it is killed."""


class _SpeakingProcess:
    """One sentence being said by one process."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.reported = False
        """Its SYNTH_EVENT_STOP has been posted (or must never be: the host closed)."""
        self.cut = False
        """The host ended it (a new sentence, SYNTH_STOP, or the end of the chat)."""


class TerminalHost:
    """Acts as MMDAgent-EX for the chat: shows or speaks each sentence, then reports its end.

    :meth:`write` is called on the runtime's loop thread with every line the controller prints;
    the host answers by posting host lines back (``SYNTH_EVENT_START|alias`` as bytes), as the
    real host would.

    Args:
        alias: Our model alias; other characters' lines are not ours to speak.
        show: Shows a sentence as it starts.
        post: The runtime's ``post``.
        program: The text-to-speech program, or None to only show the sentences.

    """

    def __init__(
        self,
        alias: str,
        show: Callable[[str], None],
        post: Callable[[object], None],
        program: TtsProgram | None,
    ) -> None:
        self.alias = alias
        self.show = show
        self.post = post
        self.program = program
        self._lock = threading.RLock()
        self._current: _SpeakingProcess | None = None
        self._waiters: list[threading.Thread] = []
        self._closed = False
        self._warned = False

    @property
    def speaking(self) -> bool:
        """Whether a sentence is being said now."""
        with self._lock:
            return self._current is not None and not self._current.reported

    def write(self, line: str) -> None:
        """Take one line the controller printed."""
        kind, _, rest = line.partition("|")
        if kind == "SYNTH_START":
            alias, _, rest = rest.partition("|")
            _voice, _, text = rest.partition("|")
            if alias == self.alias:
                self._start(text)
        elif kind == "SYNTH_STOP" and rest.partition("|")[0] == self.alias:
            with self._lock:
                self._cut(report=True)

    def close(self) -> None:
        """End any speech still going (no more events are posted) and wait for the waiters."""
        with self._lock:
            self._closed = True
            self._cut(report=False)
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.join(_GRACE)

    # ---- one sentence -----------------------------------------------------------------------

    def _start(self, text: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._cut(report=True)  # not queued: the old sentence ends, its STOP comes first
            self.show(text)
            self._event("SYNTH_EVENT_START")
            if self.program is None:
                self._event("SYNTH_EVENT_STOP")
                return
            words = self.program.command(text)
            try:
                process = subprocess.Popen(
                    words,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=self.program.environment(text),
                )
            except OSError as exc:
                log.warning("cannot run %s: %s", words[0], exc)
                self._event("SYNTH_EVENT_STOP")
                return
            speech = _SpeakingProcess(process)
            self._current = speech
            waiter = threading.Thread(target=self._wait, args=(speech,), daemon=True)
            self._waiters = [w for w in self._waiters if w.is_alive()]
            self._waiters.append(waiter)
            waiter.start()

    def _wait(self, speech: _SpeakingProcess) -> None:
        """The sentence ended by itself (or was cut): post its STOP unless that is done."""
        status = speech.process.wait()
        with self._lock:
            if status != 0 and not speech.cut and not self._warned:
                self._warned = True  # once: a missing audio device would say it every sentence
                log.warning(
                    "the text-to-speech program %s exited with status %s (no audio device?)",
                    speech.process.args[0] if isinstance(speech.process.args, list) else "",
                    status,
                )
            self._finish(speech, report=True)

    def _cut(self, report: bool) -> None:
        """Cut off the sentence being said, if any; post its STOP when ``report`` (lock held)."""
        speech = self._current
        if speech is None:
            return
        process = speech.process
        if process.poll() is None:
            speech.cut = True
            process.terminate()
            try:
                process.wait(_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self._cancel_daemon()
        self._finish(speech, report)

    def _finish(self, speech: _SpeakingProcess, report: bool) -> None:
        if self._current is speech:
            self._current = None
        if not speech.reported:
            speech.reported = True
            if report and not self._closed:
                self._event("SYNTH_EVENT_STOP")

    def _cancel_daemon(self) -> None:
        cancel = self.program.cancel if self.program is not None else ()
        if not cancel:
            return
        try:
            subprocess.run(
                list(cancel),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=_GRACE,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.debug("cannot silence %s: %s", cancel[0], exc)

    def _event(self, kind: str) -> None:
        self.post(f"{kind}|{self.alias}\n".encode())
