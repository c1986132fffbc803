"""Infrastructure errors, translated at the adapter boundary so callers never see nats-py types."""

from __future__ import annotations


class RuntimeKernelError(Exception):
    """Base of the runtime kernel's errors."""


class BusUnavailableError(RuntimeKernelError):
    """NATS/JetStream did not answer in time or refused the connection."""


class NatsServerError(RuntimeKernelError):
    """A local nats-server process could not be found or started."""


class RelayFencedError(RuntimeKernelError):
    """Another relay appended to this producer's events: this relay's view of the log is stale."""


class RelayPositionError(RuntimeKernelError):
    """The producer's last message on the stream is not one this relay could have written (no or a
    foreign position header, or a position past its store's head): publishing from it would
    duplicate or skip events, so the relay refuses until an operator looks."""
