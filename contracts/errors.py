"""Errors raised while reading or writing events on the wire (not domain errors of any service)."""

from __future__ import annotations


class ContractError(Exception):
    """An event does not match the published contract."""


class UnknownEventTypeError(ContractError):
    """The event's `type` is not one this version of greentune knows (a newer producer?)."""


class UpcastError(ContractError):
    """A stored event could not be brought to the current version of its type."""
