"""The AsyncAPI document of the NATS wire, checked in as contracts/asyncapi.json and served by the
API at `/asyncapi`: every `rpc.*` subject with its request and reply schemas, and every event
subject with its envelope schema. FastStream builds it from the services' own routes (the same
`RpcService` tables that serve the subjects); events are declared as publishers, since the outbox
relays write them rather than FastStream.

python -m services.asyncapi          # rewrite contracts/asyncapi.json
python -m services.asyncapi --check  # exit 1 when it differs from the code
"""

from __future__ import annotations

import json
import sys
from typing import Any

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import create_model

from contracts.catalog import EVENT_TYPES
from contracts.envelope import Envelope
from contracts.schema_export import ASYNCAPI_DOCUMENT as DOCUMENT
from services.runtime.rpc import Reply, RpcService, summary_of

SCHEMAS = "#/components/schemas/"


def services() -> tuple[RpcService, ...]:
    from services.carbon.adapters.rpc import RPC as CARBON
    from services.inference.adapters.rpc import RPC as INFERENCE
    from services.registry.adapters.rpc import RPC as REGISTRY
    from services.trainer.adapters.rpc import RPC as TRAINER

    return (TRAINER, INFERENCE, REGISTRY, CARBON)


def document() -> dict[str, Any]:
    broker = NatsBroker("nats://localhost:4222", description="greentune's NATS subjects (JetStream stream EVENTS)")
    for service in services():
        broker.include_router(service.router(None))  # documented, never started
    for name, event in EVENT_TYPES.items():
        payload = create_model(f"{name}Envelope", __base__=Envelope, event=(event, ...))
        broker.publisher(
            f"events.{{producer}}.{event.aggregate_type}.{{aggregate_id}}.{name}",
            title=f"events.*.{event.aggregate_type}.*.{name}",
            description=summary_of(event.__doc__) or name,
            schema=payload,
        )
    spec = AsyncAPI(broker, title="greentune", version="1", schema_version="3.0.0")
    doc: dict[str, Any] = spec.to_specification().to_jsonable()
    _add_replies(doc)
    return doc


def _add_replies(doc: dict[str, Any]) -> None:
    """FastStream documents what a subscriber takes; add what each rpc subject answers."""
    schemas = doc["components"]["schemas"]
    for service in services():
        for route in service.routes:
            subject = service.subject(route.name)
            reply = Reply[route.reply]  # type: ignore[name-defined]
            schema = reply.model_json_schema(ref_template=SCHEMAS + "{model}")
            for name, definition in schema.pop("$defs", {}).items():
                if schemas.setdefault(name, definition) != definition:
                    raise ValueError(f"two different schemas are named {name!r}: rename one of the models")
            schema_name = f"{subject}:Reply"
            schemas[schema_name] = schema
            message = f"{subject}:ReplyMessage"
            doc["components"]["messages"][message] = {
                "title": message,
                "summary": "Chunks on the reply subject, then the end chunk" if route.stream else "The answer",
                "payload": {"$ref": SCHEMAS + schema_name},
            }
            channel = f"{subject}.reply"
            doc["channels"][channel] = {
                "address": None,  # the request's reply subject (an inbox)
                "description": f"Where {subject} answers: the request's reply subject.",
                "messages": {"Reply": {"$ref": f"#/components/messages/{message}"}},
            }
            doc["operations"][subject]["reply"] = {
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": [{"$ref": f"#/channels/{channel}/messages/Reply"}],
            }


def rendered() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = rendered()
    if "--check" in argv:
        if DOCUMENT.exists() and DOCUMENT.read_text() == text:
            return 0
        print(f"{DOCUMENT} differs from the services' routes and the event types: run `python -m services.asyncapi`")
        return 1
    DOCUMENT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
