"""OpenAI bodies to inference requests: field mapping, refusals naming the field, model ids."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.api.auth import ANONYMOUS
from services.api.openai_wire import ChatCompletionRequest, CompletionRequest
from services.api.translate import chat_request, completion_batch, split_model_id
from services.inference.domain import InvalidSamplingError

USER = [{"role": "user", "content": "hi"}]


def test_chat_fields_map_onto_the_inference_request():
    body = ChatCompletionRequest.model_validate(
        {
            "model": "tiny:demo",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}]},
            ],
            "temperature": 0,
            "top_k": -1,
            "stop": "\n",
            "max_tokens": 50,
            "max_completion_tokens": 7,
            "min_tokens": 7,
            "seed": 3,
            "frequency_penalty": 0.5,
            "user": "someone",
            "an_unknown_field": True,
        }
    )
    request = chat_request(body, ANONYMOUS, "chatcmpl-1")
    assert (request.model, request.adapter, request.request_id) == ("tiny", "demo", "chatcmpl-1")
    assert [(m.role, m.content) for m in request.messages or ()] == [("system", "be brief"), ("user", "hello")]
    s = request.sampling
    assert (s.temperature, s.top_k, s.stop, s.max_tokens, s.seed, s.frequency_penalty) == (0, 0, ("\n",), 7, 3, 0.5)
    assert s.min_tokens == 7, "vLLM's min_tokens extension, as `vllm serve` takes it"
    assert request.sampling.top_p == 1.0, "unset fields keep OpenAI's defaults"


def test_a_list_of_prompts_becomes_one_batch_and_model_ids_split_on_the_colon():
    body = CompletionRequest.model_validate({"model": "tiny-merged", "prompt": ["a", "b"], "max_tokens": 3})
    batch = completion_batch(body, ANONYMOUS, "cmpl-1")
    assert [i.prompt for i in batch.inputs] == ["a", "b"] and batch.adapter is None
    assert split_model_id("tiny") == ("tiny", None) and split_model_id("tiny:demo") == ("tiny", "demo")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"n": 2}, "only n=1"),
        ({"logprobs": True}, "logprobs"),
        ({"tools": [{"type": "function"}]}, "tool calling"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
    ],
)
def test_what_greentune_does_not_offer_is_refused_naming_the_field(body, words):
    with pytest.raises(ValidationError, match=words):
        ChatCompletionRequest.model_validate({"model": "m", "messages": USER, **body})


def test_streaming_a_list_of_prompts_is_refused():
    with pytest.raises(ValidationError, match="streaming takes one prompt"):
        CompletionRequest.model_validate({"model": "m", "prompt": ["a", "b"], "stream": True})


def test_bad_sampling_values_name_the_field_as_the_caller_sent_it():
    body = ChatCompletionRequest.model_validate({"model": "m", "messages": USER, "temperature": 9, "top_p": 0})
    with pytest.raises(InvalidSamplingError, match=r"temperature: .*\(got 9.0\).*top_p") as raised:
        chat_request(body, ANONYMOUS, "x")
    assert "sampling." not in str(raised.value)
