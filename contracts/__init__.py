"""The wire: typed, versioned events shared by every greentune service.

Owns the event models, the envelope around them, subjects, the stream's configuration, upcasters
and the generated JSON Schemas. Imports nothing from `services/`; services import from here.
"""

from contracts.base import Actor, DomainEvent
from contracts.catalog import EVENT_TYPES, AnyEvent, event_class
from contracts.envelope import Envelope, decode_envelope, encode_envelope
from contracts.errors import ContractError, UnknownEventTypeError, UpcastError

__all__ = [
    "EVENT_TYPES",
    "Actor",
    "AnyEvent",
    "ContractError",
    "DomainEvent",
    "Envelope",
    "UnknownEventTypeError",
    "UpcastError",
    "decode_envelope",
    "encode_envelope",
    "event_class",
]
