"""Who may do what on NATS: one identity per service, with a generated password and least privilege.

Each service publishes only its own events (`events.<producer>.>`, plus the carbon meter's
measurements where that code runs in the service's process), the requests it makes and the
answers to the requests it takes; it subscribes only to its own `rpc.<service>.>` subjects and its
inboxes. JetStream use is allowed (stream info, direct gets, consumers, acks), stream
administration is not: only `bootstrap` may create, update, delete or purge EVENTS (the trainer
manages its own job-queue stream). With these users in the server's config an anonymous client
cannot connect.

The passwords live in `<data dir>/nats/identities.json` (mode 0600), written once by `greentune up`
or `greentune nats serve`; processes name the file with GREENTUNE_NATS_CREDENTIALS and connect as
their identity (services/runtime/jetstream.py `connect`).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

IDENTITIES_FILE = "identities.json"  # in <data dir>/nats/
ALL_INBOXES = "_INBOX.>"  # every connection's reply subjects


def inbox_prefix(identity: str) -> str:
    """Each identity's reply subjects (its requests, JetStream acks, ordered consumers) are its own."""
    return f"_INBOX.{identity}"


DEAD_LETTERS = "deadletter.>"  # a consumer parks what it cannot use
_USE_JETSTREAM = (
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.NAMES",
    "$JS.API.DIRECT.GET.>",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.CONSUMER.>",  # their own durable and ordered consumers, and fetching from them
    "$JS.ACK.>",
    "$JS.FC.>",
)
_TRAINER_QUEUE = tuple(f"$JS.API.STREAM.{verb}.TRAINER_JOBS" for verb in ("CREATE", "UPDATE"))


@dataclass(frozen=True)
class Grant:
    """What an identity may publish and subscribe to, besides its own inboxes (which it may both)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


GRANTS: dict[str, Grant] = {
    "bootstrap": Grant((">",), (">",)),  # creates the streams; not given to any service
    "trainer": Grant(  # intake and workers
        (
            "events.trainer.>",
            "events.carbon.job.>",
            "trainer.jobs.>",
            "rpc.carbon.>",
            DEAD_LETTERS,
            *_USE_JETSTREAM,
            *_TRAINER_QUEUE,
        ),
        ("rpc.trainer.>",),
    ),
    "inference": Grant(  # streams chunks to its callers' inboxes
        ("events.inference.>", "events.carbon.engine.>", DEAD_LETTERS, ALL_INBOXES, *_USE_JETSTREAM),
        ("rpc.inference.>",),
    ),
    "registry": Grant(("events.registry.>", DEAD_LETTERS, *_USE_JETSTREAM), ("rpc.registry.>",)),
    "carbon": Grant(("events.carbon.>", DEAD_LETTERS, *_USE_JETSTREAM), ("rpc.carbon.>",)),
    "api": Grant(("rpc.>", DEAD_LETTERS, *_USE_JETSTREAM), ()),  # asks every service, reads the log
    "cli": Grant(("rpc.>", *_USE_JETSTREAM), ()),  # people and scripts: ask and read, never write events
}


def identities_path(data_dir: Path) -> Path:
    """Where a stack keeps its identities: <data dir>/nats/identities.json."""
    return (data_dir / "nats" / IDENTITIES_FILE).resolve()


def load_or_create(path: Path) -> dict[str, str]:
    """Identity -> password, from `path`; written there first (0600) with new passwords if missing."""
    if path.exists():
        passwords: dict[str, str] = json.loads(path.read_text())
        missing = GRANTS.keys() - passwords.keys()
        if not missing:
            return passwords
        passwords.update({name: secrets.token_urlsafe(24) for name in missing})
    else:
        passwords = {name: secrets.token_urlsafe(24) for name in GRANTS}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(passwords, file, indent=2)
    return passwords


def server_authorization(passwords: dict[str, str]) -> str:
    """The `authorization` block of a nats-server config granting each identity its subjects."""
    users = [
        {
            "user": name,
            "password": passwords[name],
            "permissions": {
                "publish": {"allow": [*grant.publish, inbox_prefix(name) + ".>"]},
                "subscribe": {"allow": [*grant.subscribe, inbox_prefix(name) + ".>"]},
                "allow_responses": True,  # may answer the requests it received
            },
        }
        for name, grant in GRANTS.items()
    ]
    return "authorization {\n  users = " + json.dumps(users, indent=2) + "\n}\n"
