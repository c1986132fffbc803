"""Commands over rpc.trainer.*: accepted input is recorded on EVENTS; refused input names the file,
line or field, records no event, stores nothing and queues nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from contracts import Actor
from contracts.events.datasets import DatasetRegistered, DatasetValidated
from services.trainer.adapters.queue import QUEUE_STREAM
from services.trainer.commands import CancelJob, CreateJob, RegisterBaseModel, RegisterDataset
from tests.trainer.conftest import ACTOR, DEMO, DEMO_CONFIG, Trainer

TEMPLATES = Path(__file__).parent / "chat_templates"

QUESTION = {"role": "user", "content": "What is the code word for zovobi?"}


def row(answer: str) -> str:
    return json.dumps({"messages": [QUESTION, {"role": "assistant", "content": answer}]}) + "\n"


async def assert_nothing_recorded(trainer: Trainer, before: int) -> None:
    assert len(await trainer.events()) == before, "a refused command recorded an event"
    info = await trainer.nc.jetstream().stream_info(QUEUE_STREAM)
    assert info.state.messages == 0, "a refused command queued a job"


async def test_registering_the_demo_dataset_records_it_with_token_stats_and_a_trained_span_sample(
    trainer, tiny_model_dir
):
    dataset_id = await trainer.register_demo(tiny_model_dir)

    registered, validated = [e.event for e in await trainer.events(f"events.trainer.dataset.{dataset_id}.*")]
    assert isinstance(registered, DatasetRegistered) and isinstance(validated, DatasetValidated)
    assert (registered.file_format, validated.data_format, validated.rows, validated.valid) == (
        "jsonl",
        "messages",
        200,
        True,
    )
    assert validated.token_stats is not None and validated.token_stats.truncated_rows == 0
    assert 10 <= validated.token_stats.min <= validated.token_stats.max <= 64
    # the question is masked, the answer and its end-of-turn token are trained
    assert validated.sample == "<|user|>What is the code word for zovobi?<|end|><|assistant|>[[pomi<|end|>]]"
    stored = trainer.ctx.store.list_keys(f"datasets/raw/{dataset_id}")
    assert stored == [f"datasets/raw/{dataset_id}/data.jsonl"]


async def test_registering_the_same_bytes_twice_answers_with_the_first_registration(trainer):
    first = await trainer.result(RegisterDataset(actor=ACTOR, path=str(DEMO)))
    second = await trainer.result(RegisterDataset(actor=ACTOR, path=str(DEMO), display_name="again"))

    assert (first["already_registered"], second["already_registered"]) == (False, True)
    assert first["dataset_id"] == second["dataset_id"]
    assert len(await trainer.events("events.trainer.dataset.>")) == 2


@pytest.mark.parametrize(
    ("name", "text", "line", "field", "words"),
    [
        ("broken.jsonl", row("pomi") + '{"messages": [\n' + row("keva"), 2, None, "not valid JSON"),
        ("fields.jsonl", row("pomi") + json.dumps({"messages": [QUESTION, {"role": "assistant"}]}), 2,
         "messages[1].content", "non-empty string"),
        ("empty.jsonl", "", 0, None, "no rows"),
        ("odd.jsonl", json.dumps({"question": "q", "answer": "a"}), 1, None, "unknown row format"),
    ],
)  # fmt: skip
async def test_malformed_datasets_are_refused_naming_file_line_and_field(
    trainer, write_file, name, text, line, field, words
):
    before = len(await trainer.events())

    reply = await trainer.send(RegisterDataset(actor=ACTOR, path=str(write_file(name, text))))

    assert not reply["ok"]
    assert reply["error"]["status"] == 400
    (problem,) = reply["error"]["problems"]
    assert (problem["file"], problem["line"], problem["field"]) == (name, line, field)
    assert words in problem["message"]
    await assert_nothing_recorded(trainer, before)
    assert trainer.ctx.store.list_keys("datasets") == []


async def test_bad_job_configs_are_refused_with_every_rule_break_named_and_nothing_queued(trainer, tiny_model_dir):
    dataset_id = await trainer.register_demo(tiny_model_dir)
    before = len(await trainer.events())

    bad_numbers = {**DEMO_CONFIG, "dataset_id": dataset_id, "learning_rate": 0, "lora": {"rank": 0}}
    unknown_inputs = {**DEMO_CONFIG, "dataset_id": "no-such-dataset", "base_model": "/nowhere/llama"}
    numbers = await trainer.send(CreateJob(actor=ACTOR, config=bad_numbers))
    inputs = await trainer.send(CreateJob(actor=ACTOR, config=unknown_inputs))

    assert {p["field"] for p in numbers["error"]["problems"]} == {"learning_rate", "lora.rank"}
    assert {p["field"] for p in inputs["error"]["problems"]} == {"dataset_id", "base_model"}
    assert "greentune models register" in inputs["error"]["detail"]
    await assert_nothing_recorded(trainer, before)


async def test_rows_too_long_for_the_model_are_refused_naming_each_line(trainer, tiny_model_dir, write_file):
    await trainer.register_demo(tiny_model_dir)
    long_answer = " ".join(["pomi"] * 80)
    path = write_file("long.jsonl", row("keva") + row(long_answer) + row("dazi"))
    dataset = await trainer.result(RegisterDataset(actor=ACTOR, path=str(path), base_model="tiny", max_seq_length=64))
    assert dataset["token_stats"]["truncated_rows"] == 1  # registration reports it; the job is refused for it
    before = len(await trainer.events())

    reply = await trainer.send(CreateJob(actor=ACTOR, config={**DEMO_CONFIG, "dataset_id": dataset["dataset_id"]}))

    (problem,) = reply["error"]["problems"]
    assert (problem["file"], problem["line"], problem["field"]) == ("long.jsonl", 2, "max_seq_length")
    assert "over max_seq_length 64" in problem["message"]
    await assert_nothing_recorded(trainer, before)


async def test_a_job_that_cannot_fit_in_a_worker_is_refused_with_a_resource_error(trainer, tiny_model_dir):
    dataset_id = await trainer.register_demo(tiny_model_dir)
    trainer.ctx.settings = trainer.ctx.settings.model_copy(update={"worker_memory_bytes": 256 << 20})
    before = len(await trainer.events())

    reply = await trainer.send(CreateJob(actor=ACTOR, config={**DEMO_CONFIG, "dataset_id": dataset_id}))

    assert reply["error"]["status"] == 422
    assert "GiB" in reply["error"]["detail"] and "lower batch_size" in reply["error"]["detail"]
    await assert_nothing_recorded(trainer, before)


async def test_gguf_export_without_llama_cpp_and_qlora_without_a_gpu_are_refused_with_what_to_do(
    trainer, tiny_model_dir
):
    dataset_id = await trainer.register_demo(tiny_model_dir)
    config = {**DEMO_CONFIG, "dataset_id": dataset_id}

    gguf = await trainer.send(CreateJob(actor=ACTOR, config={**config, "export_formats": ["gguf_q8_0"]}))
    qlora = await trainer.send(CreateJob(actor=ACTOR, config={**config, "method": "qlora"}))

    assert gguf["error"]["problems"][0]["field"] == "export_formats"
    assert "GREENTUNE_TRAINER_LLAMA_CPP_DIR" in gguf["error"]["problems"][0]["message"]
    assert qlora["error"]["status"] == 422 and "GPU" in qlora["error"]["detail"]


async def test_a_folder_that_is_not_a_model_is_refused_naming_what_is_missing(trainer, write_file):
    folder = write_file("notamodel/readme.txt", "hi").parent

    reply = await trainer.send(RegisterBaseModel(actor=ACTOR, model_name="nope", source=str(folder)))

    assert reply["error"]["problems"] == [
        {"message": "config.json is missing", "file": "notamodel", "line": None, "field": None}
    ]


async def test_a_queued_job_is_cancelled_at_once_and_a_malformed_request_gets_a_structured_answer(
    trainer, tiny_model_dir
):
    dataset_id = await trainer.register_demo(tiny_model_dir)
    job = await trainer.result(CreateJob(actor=ACTOR, config={**DEMO_CONFIG, "dataset_id": dataset_id}))

    cancelled = await trainer.result(CancelJob(actor=ACTOR, job_id=job["job_id"], reason="changed my mind"))
    again = await trainer.send(CancelJob(actor=ACTOR, job_id=job["job_id"]))
    malformed = await trainer.nc.request("rpc.trainer.create_job", b'{"config": {}}', timeout=10)

    assert cancelled["status"] == "CANCELLED"
    assert again["error"]["status"] == 409
    assert [e.event.type_name() for e in await trainer.job_events(job["job_id"])] == [
        "JobRequested", "JobQueued", "JobCancelRequested", "JobCancelled",
    ]  # fmt: skip
    answer = json.loads(malformed.data)
    assert answer["error"]["problems"][0]["field"] == "actor"


async def test_an_api_key_over_its_carbon_budget_gets_no_job_and_the_budget_s_message(trainer, tiny_model_dir):
    dataset_id = await trainer.register_demo(tiny_model_dir)
    config = {**DEMO_CONFIG, "dataset_id": dataset_id}
    api_key = Actor(kind="api_key", id="key-1", tenant="t1", role="admin")  # an admin: it may use the CLI's dataset
    before = len(await trainer.events())
    unanswered = await trainer.send(CreateJob(actor=api_key, config=config))

    async def carbon_service(msg):  # type: ignore[no-untyped-def]  # answers as rpc.carbon.budget.check does
        assert json.loads(msg.data) == {"api_key": "key-1"}
        decision = {
            "allowed": False, "message": "API key key-1 has used 5.1 of its 5 kWh budget (102%)", "api_key": "key-1",
            "metric": "energy_kwh", "used": 5.1, "limit": 5.0, "fraction_used": 1.02,
        }  # fmt: skip
        await msg.respond(json.dumps({"ok": True, "result": decision}).encode())

    await trainer.nc.subscribe("rpc.carbon.budget.check", cb=carbon_service)
    spent = await trainer.send(CreateJob(actor=api_key, config=config))
    cli = await trainer.send(CreateJob(actor=ACTOR, config=config))  # budgets belong to API keys only

    assert unanswered["error"]["status"] == 503, "no carbon service: the budget cannot be checked"
    assert "GREENTUNE_TRAINER_BUDGET_CHECK=off" in unanswered["error"]["detail"]
    assert spent["error"] == {
        "type": "urn:greentune:problem:BudgetExceededError", "title": "Forbidden", "status": 403,
        "code": "BudgetExceededError", "problems": [],
        "detail": "API key key-1 has used 5.1 of its 5 kWh budget (102%)",
    }  # fmt: skip
    assert cli["ok"]
    assert len(await trainer.events()) == before + 2  # only the CLI's JobRequested + JobQueued


def with_template(tiny_model_dir: Path, target: Path, template: str) -> Path:
    """A copy of the tiny model whose tokenizer carries a stock chat template (no generation markers)."""
    shutil.copytree(tiny_model_dir, target)
    config_path = target / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = (TEMPLATES / template).read_text()
    config_path.write_text(json.dumps(config))
    (target / "chat_template.jinja").unlink(missing_ok=True)
    return target


async def test_a_stock_template_without_generation_markers_trains_the_located_replies(
    trainer, tiny_model_dir, tmp_path, write_file
):
    folder = with_template(tiny_model_dir, tmp_path / "chatml", "smollm2.jinja")
    await trainer.result(RegisterBaseModel(actor=ACTOR, model_name="chatml", source=str(folder)))
    alpaca = json.dumps({"instruction": "Name the moon of Tessaro.", "output": "Ilvane."}) + "\n"

    result = await trainer.result(
        RegisterDataset(actor=ACTOR, path=str(write_file("alpaca.jsonl", alpaca)), base_model="chatml")
    )

    assert result["valid"] and result["data_format"] == "alpaca"
    reply = "<|im_start|>assistant\n[[Ilvane.<|im_end|>]]\n"
    assert result["sample"].endswith(f"<|im_start|>user\nName the moon of Tessaro.<|im_end|>\n{reply}")


async def test_rows_a_stock_template_refuses_are_named_by_line_and_nothing_is_recorded(
    trainer, tiny_model_dir, tmp_path, write_file
):
    folder = with_template(tiny_model_dir, tmp_path / "gemma", "gemma.jinja")
    await trainer.result(RegisterBaseModel(actor=ACTOR, model_name="gemma-like", source=str(folder)))
    before = len(await trainer.events())
    rows = [{"instruction": "Name the moon of Tessaro.", "output": "Ilvane."}]
    rows.append({**rows[0], "system": "Answer briefly."})  # Gemma's template has no system role
    text = "".join(json.dumps(r) + "\n" for r in rows)

    reply = await trainer.send(
        RegisterDataset(actor=ACTOR, path=str(write_file("system.jsonl", text)), base_model="gemma-like")
    )

    assert not reply["ok"]
    (problem,) = reply["error"]["problems"]
    assert (problem["file"], problem["line"]) == ("system.jsonl", 2)
    assert "System role not supported" in problem["message"]
    await assert_nothing_recorded(trainer, before)
