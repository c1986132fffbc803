"""The inference service over NATS request/reply: one `rpc.inference.<method>` subject each, served
by a queue group so several engine hosts share the work (services/runtime/rpc.py). A stream answers
with chunks on the caller's reply subject (services/inference/protocol.py)."""

from __future__ import annotations

from services.inference import protocol as wire
from services.inference.handlers import InferenceHandlers as H
from services.runtime.rpc import Route, RpcService

RPC = RpcService(
    wire.PREFIX,
    wire.QUEUE_GROUP,
    (
        Route("generate", wire.GenerateRequest, wire.Completion, H.generate),
        Route("batch", wire.BatchRequest, list[wire.Completion], H.batch),
        Route("stream", wire.GenerateRequest, wire.StreamChunk, H.stream, stream=True),
        Route("load", wire.LoadRequest, list[wire.EngineStatus], H.load),
        Route("unload", wire.UnloadRequest, wire.Unloaded, H.unload),
        Route("models", wire.ListModels, list[wire.EngineStatus], H.models),
    ),
    title="Inference",
    malformed=wire.invalid,
)
