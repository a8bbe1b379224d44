"""``objects.patch`` of custom metadata, and metageneration preconditions (tuneport's cleanup uses them)."""

from __future__ import annotations

import json

import httpx

BUCKET = "tuneport-test"
UPLOAD = f"/upload/storage/v1/b/{BUCKET}/o"
OBJECT = f"/storage/v1/b/{BUCKET}/o/d%2Fx.jsonl"


def _upload(client: httpx.Client, metadata: dict[str, str]) -> dict[str, object]:
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\ncontent-type: application/json\r\n\r\n"
        + json.dumps({"name": "d/x.jsonl", "metadata": metadata})
        + "\r\n"
        + f"--{boundary}\r\ncontent-type: application/jsonl\r\n\r\n"
        + "{}\n\r\n"
        + f"--{boundary}--"
    )
    answer = client.post(
        UPLOAD,
        params={"uploadType": "multipart"},
        content=body.encode(),
        headers={"content-type": f"multipart/related; boundary={boundary}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_patch_merges_metadata_removes_null_keys_and_bumps_the_metageneration(client: httpx.Client) -> None:
    created = _upload(client, {"a": "1", "b": "2"})
    assert created["metadata"] == {"a": "1", "b": "2"}
    patched = client.patch(OBJECT, json={"metadata": {"b": None, "c": "3"}})
    assert patched.status_code == 200, patched.text
    resource = patched.json()
    assert resource["metadata"] == {"a": "1", "c": "3"}
    assert (resource["generation"], resource["metageneration"]) == (created["generation"], "2")
    assert client.get(OBJECT).json()["metadata"] == {"a": "1", "c": "3"}


def test_a_stale_metageneration_refuses_patch_and_delete(client: httpx.Client) -> None:
    _upload(client, {"a": "1"})
    assert client.patch(
        OBJECT, params={"ifMetagenerationMatch": "1"}, json={"metadata": {"a": "2"}}
    ).is_success
    stale = {"ifMetagenerationMatch": "1"}
    assert client.patch(OBJECT, params=stale, json={"metadata": {"a": "3"}}).status_code == 412
    assert client.delete(OBJECT, params=stale).status_code == 412
    assert client.get(OBJECT).json()["metadata"] == {"a": "2"}
    assert client.delete(OBJECT, params={"ifMetagenerationMatch": "2"}).status_code == 204
    assert client.get(OBJECT).status_code == 404


def test_patch_refuses_fields_it_does_not_write(client: httpx.Client) -> None:
    _upload(client, {})
    answer = client.patch(OBJECT, json={"size": "5"})
    assert answer.status_code == 400
    assert "size" in answer.json()["error"]["message"]
    assert client.patch(f"/storage/v1/b/{BUCKET}/o/absent", json={"metadata": {}}).status_code == 404
