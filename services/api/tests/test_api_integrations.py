"""CRUD of integrations against the real Kafka and MongoDB-compatible store."""

from __future__ import annotations

import pytest

from .conftest import RunningApi, auth, update_body, webhook_body

pytestmark = pytest.mark.integration

STORE = {"store_id": "store-crud-1", "org_id": "org-crud-1"}


async def test_create_get_list_update_delete(running_api: RunningApi) -> None:
    client = running_api.client
    created = await client.post("/v2/integrations", json=webhook_body(), headers=auth(**STORE))
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert data["type"] == "integration"
    assert data["integration_type"] == "webhook"
    assert data["observes"] == ["order.paid"]
    assert data["configuration"] == {
        "url": "https://example.com/hook",
        "secret_key": "****************1234",
    }
    assert data["links"]["self"] == f"/v2/integrations/{data['id']}"
    assert set(data["meta"]["timestamps"]) == {"created_at", "updated_at"}

    got = await client.get(f"/v2/integrations/{data['id']}", headers=auth(**STORE))
    assert got.status_code == 200
    assert got.json()["data"] == data

    listed = await client.get("/v2/integrations", headers=auth(**STORE))
    assert listed.status_code == 200
    body = listed.json()
    assert [d["id"] for d in body["data"]] == [data["id"]]
    assert body["results"] == {"total": 1}

    updated = await client.put(
        f"/v2/integrations/{data['id']}",
        json=update_body(name="Renamed", enabled=False),
        headers=auth(**STORE),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["data"]["name"] == "Renamed"
    assert updated.json()["data"]["enabled"] is False
    assert updated.json()["data"]["configuration"] == data["configuration"]

    deleted = await client.delete(f"/v2/integrations/{data['id']}", headers=auth(**STORE))
    assert deleted.status_code == 200
    assert deleted.content == b""
    gone = await client.get(f"/v2/integrations/{data['id']}", headers=auth(**STORE))
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["status"] == 404
