"""The trainer's commands over NATS request/reply: one `rpc.trainer.<command>` subject each, served
by a queue group so several intake processes share the load (services/runtime/rpc.py)."""

from __future__ import annotations

from services.runtime.rpc import Route, RpcService
from services.trainer import commands, replies
from services.trainer.commands import RPC_PREFIX
from services.trainer.handlers import TrainerHandlers

RPC = RpcService(
    RPC_PREFIX,
    "trainer-intake",
    (
        Route(
            "register_dataset", commands.RegisterDataset, replies.DatasetRegistration, TrainerHandlers.register_dataset
        ),
        Route(
            "validate_dataset",
            commands.ValidateDataset,
            replies.DatasetRevalidation | replies.DatasetValidation,
            TrainerHandlers.validate_dataset,
        ),
        Route(
            "register_base_model",
            commands.RegisterBaseModel,
            replies.BaseModelRegistration,
            TrainerHandlers.register_base_model,
        ),
        Route("create_job", commands.CreateJob, replies.JobCreated, TrainerHandlers.create_job),
        Route("cancel_job", commands.CancelJob, replies.CancelRequested, TrainerHandlers.cancel_job),
        Route("get_job", commands.GetJob, replies.JobDetail, TrainerHandlers.get_job),
    ),
    title="Trainer commands",
)
