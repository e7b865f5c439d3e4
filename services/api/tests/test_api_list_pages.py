"""Pagination of the integrations list: defaults, edges, links and totals."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import RunningApi, auth, webhook_body

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-pages-1", "org_id": "org-pages-1"}
COUNT = 5


@pytest.fixture(scope="module")
async def created_ids(running_api: RunningApi) -> list[str]:
    ids = []
    for index in range(COUNT):
        answer = await running_api.client.post(
            "/v2/integrations", json=webhook_body(name=f"n{index}"), headers=auth(**TENANT)
        )
        ids.append(answer.json()["data"]["id"])
    return ids


async def _page(running_api: RunningApi, query: str) -> dict[str, Any]:
    answer = await running_api.client.get(f"/v2/integrations?{query}", headers=auth(**TENANT))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_first_middle_last_and_beyond(
    running_api: RunningApi, created_ids: list[str]
) -> None:
    first = await _page(running_api, "page[limit]=2")
    assert [d["id"] for d in first["data"]] == created_ids[:2]
    assert first["results"] == {"total": COUNT}
    assert first["links"] == {
        "first": "/v2/integrations?page[offset]=0&page[limit]=2",
        "next": "/v2/integrations?page[offset]=2&page[limit]=2",
        "last": "/v2/integrations?page[offset]=4&page[limit]=2",
    }
    middle = await _page(running_api, "page[offset]=2&page[limit]=2")
    assert [d["id"] for d in middle["data"]] == created_ids[2:4]
    assert middle["links"]["prev"] == "/v2/integrations?page[offset]=0&page[limit]=2"
    last = await _page(running_api, "page[offset]=4&page[limit]=2")
    assert [d["id"] for d in last["data"]] == created_ids[4:]
    assert "next" not in last["links"]
    beyond = await _page(running_api, "page[offset]=50")
    assert beyond["data"] == []
    assert beyond["results"] == {"total": COUNT}


async def test_default_and_maximum_limit(running_api: RunningApi, created_ids: list[str]) -> None:
    default = await _page(running_api, "")
    assert len(default["data"]) == COUNT
    assert default["links"] == {"first": "/v2/integrations?page[offset]=0&page[limit]=25"}
    maximum = running_api.settings.pagination.max_limit
    biggest = await _page(running_api, f"page[limit]={maximum}")
    assert len(biggest["data"]) == COUNT
    assert created_ids
