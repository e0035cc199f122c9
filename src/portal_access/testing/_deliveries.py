"""A vendor's webhook deliveries, as the local vendors of :mod:`portal_access.testing`
send them: queued in order, signed at each attempt, handed to the host's endpoint.

>>> queue = DeliveryQueue(lambda body: {"Signature": f"signed {body!r}"})
>>> queue.push(b"{}")
>>> received = []
>>> queue.deliver(lambda headers, body: received.append((headers, body)))
[None]
>>> received
[({'Signature': "signed b'{}'"}, b'{}')]
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping
from typing import NamedTuple

__all__ = ["MAX_ATTEMPTS", "Delivery", "DeliveryQueue", "WebhookHandler", "WebhookSender"]

#: What receives a delivery: the host's webhook endpoint, e.g. ``portal.handle_webhook``.
WebhookHandler = Callable[[Mapping[str, str], bytes], object]

#: Delivery rounds for an event whose endpoint keeps asking to retry.
MAX_ATTEMPTS = 5


class Delivery(NamedTuple):
    """One webhook delivery: a tuple so ``headers, body = delivery`` reads naturally."""

    headers: dict[str, str]
    body: bytes


class DeliveryQueue:
    """Emitted events waiting to be delivered, signed when they are handed over (as a
    vendor signs each attempt), oldest first.

    Args:
        sign: headers for a body, signed now.
    """

    def __init__(self, sign: Callable[[bytes], dict[str, str]]) -> None:
        self._sign = sign
        self._bodies: deque[bytes] = deque()
        self._handler: WebhookHandler | None = None
        self._held = 0  # deliveries queued before the handler was attached

    def push(self, body: bytes) -> None:
        """Queue one event's body."""
        self._bodies.append(body)

    def attach(self, handler: WebhookHandler | None) -> None:
        """Hand *new* deliveries to ``handler`` at each :meth:`flush` (``None`` detaches);
        those already queued stay queued."""
        self._handler = handler
        self._held = len(self._bodies)

    def flush(self) -> None:
        """With a handler attached, pop and hand over each new delivery, in order.

        A delivery the handler raises on is gone; the rest stay queued.
        """
        while self._handler is not None and len(self._bodies) > self._held:
            body = self._bodies[self._held]
            del self._bodies[self._held]
            self._handler(self._sign(body), body)

    def pending(self) -> tuple[Delivery, ...]:
        """The queued deliveries, signed now; the queue is unchanged."""
        return tuple(Delivery(self._sign(body), body) for body in self._bodies)

    def send(self, body: bytes, handler: WebhookHandler) -> object:
        """Hand ``body`` to ``handler`` once more, newly signed; returns what it returned."""
        return handler(self._sign(body), body)

    def deliver(
        self, handler: WebhookHandler, *, duplicate: int = 1, rng: random.Random | None = None
    ) -> list[object]:
        """Empty the queue into ``handler``: each delivery ``duplicate`` times, shuffled by
        ``rng`` when given. Returns the handler's results in call order.

        Like a real vendor, a delivery the endpoint asks to retry (its result has a true
        ``retry_later``, as :class:`~portal_access.WebhookResult` does for an event that
        names an object not seen yet) is sent again after the others, for up to
        :data:`MAX_ATTEMPTS` rounds.

        Raises:
            ValueError: ``duplicate`` is less than 1.
        """
        if duplicate < 1:
            raise ValueError("duplicate must be at least 1")
        bodies = [body for body in self._bodies for _ in range(duplicate)]
        self._bodies.clear()
        self._held = 0
        results: list[object] = []
        for _round in range(MAX_ATTEMPTS):
            if rng is not None:
                rng.shuffle(bodies)
            retry: list[bytes] = []
            for body in bodies:
                result = handler(self._sign(body), body)
                results.append(result)
                if getattr(result, "retry_later", False):
                    retry.append(body)
            if not retry:
                break
            bodies = retry
        return results


class WebhookSender:
    """A local vendor's webhook deliveries, as its tests drive them (the sandbox vendor
    and the local Stripe API send theirs the same way). A vendor sets ``_queue`` and
    implements ``_event_body``."""

    _queue: DeliveryQueue

    def _event_body(self, event_id: str) -> bytes:
        """The body of an emitted event; raises the vendor's error when there is none."""
        raise NotImplementedError

    def attach(self, handler: WebhookHandler | None) -> None:
        """Hand every *new* delivery to ``handler`` (``handler(headers, body)``) as soon as
        the action that emitted it is done, in order; ``None`` detaches. Deliveries
        already queued stay queued (use :meth:`deliver`)."""
        self._queue.attach(handler)

    def pending_deliveries(self) -> tuple[Delivery, ...]:
        """The queued deliveries as ``(headers, body)``, signed now; the queue is unchanged."""
        return self._queue.pending()

    def deliver(
        self, handler: WebhookHandler, *, duplicate: int = 1, rng: random.Random | None = None
    ) -> list[object]:
        """Empty the queue into ``handler``: every delivery ``duplicate`` times, shuffled
        with ``rng`` when given (duplicated, out-of-order webhooks); a delivery answered
        with ``retry_later`` is sent again. Returns the handler's results in call order.

        Raises:
            ValueError: ``duplicate`` is less than 1.
        """
        return self._queue.deliver(handler, duplicate=duplicate, rng=rng)

    def redeliver(self, event_id: str, handler: WebhookHandler) -> object:
        """Send an already emitted event again, newly signed (vendors retry); returns
        what ``handler`` returned."""
        return self._queue.send(self._event_body(event_id), handler)
