"""`/api/v1/models` over the real registry and inference services: every version is listed with its
lineage, status and verdict; a verified one is served on request as an adapter on its base and then
answers on `/v1` what it was fine-tuned on; a deleted one and one that failed verification are
refused with the registry's reason."""

from __future__ import annotations

import httpx
import openai
import pytest

from services.trainer.demo_facts import demo_facts, question
from tests.api.catalogue import Catalogue
from tests.api.conftest import API_KEY, InferenceGateway, problem

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
AUTH = {"Authorization": f"Bearer {API_KEY}"}


async def test_the_catalogue_lists_every_version_and_serves_only_what_the_registry_allows(
    gateway: InferenceGateway, catalogue: Catalogue
):
    name = catalogue.name
    async with httpx.AsyncClient(base_url=f"{gateway.url}/api/v1", headers=AUTH, timeout=300) as client:
        listed = (await client.get("/models")).json()["models"]
        deleted = await client.post(f"/models/{name}/versions/{catalogue.deleted}/serve")
        failed = await client.post(f"/models/{name}/versions/{catalogue.failed}/serve")
        unknown = await client.post(f"/models/{name}/versions/999/serve")
        served = await client.post(f"/models/{name}/versions/{catalogue.verified}/serve")
    rows = {row["version"]: row for row in listed if row["name"] == name and row["version"] in catalogue.job_ids}
    good = rows[catalogue.verified]
    assert (good["base_model"], good["job_id"], good["status"], good["verified"]) == (
        "tiny",
        catalogue.job_ids[catalogue.verified],
        "active",
        True,
    )
    assert (rows[catalogue.failed]["status"], rows[catalogue.failed]["verified"]) == ("active", False)
    assert rows[catalogue.deleted]["status"] == "deleted", "a deleted version stays listed, marked"

    assert "was deleted" in problem(deleted, 409)["detail"]
    assert "failed verification" in problem(failed, 409)["detail"] and "corrupt" in failed.text
    assert "has no version 999" in problem(unknown, 404)["detail"]
    assert served.status_code == 200, served.text
    model_id = served.json()["model"]
    assert model_id == f"tiny:{name}-v{catalogue.verified}"

    api = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=API_KEY, max_retries=0)
    assert model_id in {m.id for m in (await api.models.list()).data}
    right = 0
    for key, fact in demo_facts()[:5]:
        answer = await api.chat.completions.create(
            model=model_id, messages=[{"role": "user", "content": question(key)}], temperature=0, max_tokens=8
        )
        right += (answer.choices[0].message.content or "").strip() == fact
    assert right >= 4, "the served version answers the facts its adapter was trained on"
