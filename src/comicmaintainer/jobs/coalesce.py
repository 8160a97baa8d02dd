"""One client's line of events: job progress coalesced, everything in id order, no id twice.

A job's `JobUpdated` is a full snapshot, so a client needs at most one every `interval` seconds per
job: a newer snapshot that arrives sooner is *held* and replaces the one held before it. A held
snapshot keeps its own bus id and its place in the line, and the events published after it wait
behind it until it is due (at most `interval`). Nothing is re-stamped, so every id a client receives
is greater than the one before, and an id it received is an exact resume point: the replay after
it, read from the ring with these same rules, neither repeats nor skips an event.

What is never coalesced: a job's final state (it replaces that job's held snapshot and goes out in
line) and every other kind of event.
"""

from __future__ import annotations

from collections.abc import Callable

from comicmaintainer.jobs.event_types import Envelope, JobUpdated


class Line:
    """Admit envelopes in id order; `release` hands over those that may go out now."""

    def __init__(self, interval: float, emit: Callable[[Envelope], None]) -> None:
        self.interval = interval
        self._emit = emit
        self._waiting: dict[int, Envelope] = {}  # envelope id -> envelope, in id order
        self._held: dict[int, int] = {}  # job id -> id of its snapshot waiting in the line
        self._sent_at: dict[int, float] = {}  # job id -> when its last snapshot went out

    def __len__(self) -> int:
        return len(self._waiting)

    def admit(self, envelope: Envelope, now: float) -> None:
        event = envelope.event
        if not isinstance(event, JobUpdated):
            self._line_up(envelope)
            return
        job = event.job_id
        superseded = self._held.pop(job, None)
        if superseded is not None:
            del self._waiting[superseded]
        if event.is_final:
            self._sent_at.pop(job, None)
            self._line_up(envelope)
        elif not self._waiting and self._due(job, now) <= now:
            self._sent_at[job] = now
            self._emit(envelope)
        else:
            self._held[job] = envelope.id
            self._waiting[envelope.id] = envelope

    def release(self, now: float) -> float | None:
        """Emit the front of the line up to the first snapshot not yet due; returns when that one is."""
        while self._waiting:
            envelope_id, envelope = next(iter(self._waiting.items()))
            event = envelope.event
            if isinstance(event, JobUpdated) and self._held.get(event.job_id) == envelope_id:
                due = self._due(event.job_id, now)
                if due > now:
                    return due
                del self._held[event.job_id]
                self._sent_at[event.job_id] = now
            del self._waiting[envelope_id]
            self._emit(envelope)
        return None

    def clear(self) -> None:
        self._waiting.clear()
        self._held.clear()
        self._sent_at.clear()

    def _line_up(self, envelope: Envelope) -> None:
        if self._waiting:
            self._waiting[envelope.id] = envelope
        else:
            self._emit(envelope)

    def _due(self, job: int, now: float) -> float:
        sent_at = self._sent_at.get(job)
        return now if sent_at is None else sent_at + self.interval
