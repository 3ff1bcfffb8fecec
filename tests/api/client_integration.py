"""An integration written only against a client generated from the published schema.

`run(api, client, ...)` takes the generated package (imported by the caller) and an
authenticated client of it; it makes no HTTP request of its own. Each step checks what an
integration team would rely on, and the steps' findings are returned for the test to read.
"""

from __future__ import annotations

import uuid
from importlib import import_module
from types import ModuleType
from typing import Any


def _op(api: ModuleType, tag: str, name: str) -> Any:
    return import_module(f"{api.__name__}.api.{tag}.{name}")


def run(api: ModuleType, client: Any, *, assignee: int, criteria: list[str]) -> dict[str, Any]:
    models = import_module(f"{api.__name__}.models")
    found: dict[str, Any] = {}

    # 1. Create with an Idempotency-Key, then replay it.
    create = _op(api, "leads", "leads_create")
    key = str(uuid.uuid4())
    body = models.LeadCreateRequest(email="jo.bloggs@acme.example", first_name="Jo")
    first = create.sync_detailed(client=client, body=body, idempotency_key=key)
    replay = create.sync_detailed(client=client, body=body, idempotency_key=key)
    assert isinstance(first.parsed, models.Lead), first.content
    found["created"] = (int(first.status_code), first.parsed.id, first.headers["ETag"])
    found["replayed"] = (
        int(replay.status_code),
        replay.parsed.id,
        replay.headers.get("Idempotent-Replayed"),
        replay.content == first.content,
    )

    # 2. Page through every lead with next_cursor.
    listing = _op(api, "leads", "leads_list")
    seen: list[int] = []
    cursor = None
    while True:
        page = listing.sync(client=client, page_size=3, cursor=cursor or models_unset(api))
        assert isinstance(page, models.PaginatedLeadList), page
        seen += [lead.id for lead in page.results]
        cursor = page.next_cursor
        if cursor is None:
            break
    found["paged"] = seen

    # 3. PATCH with If-Match (the ETag of the create).
    patch = _op(api, "leads", "leads_partial_update")
    patched = patch.sync_detailed(
        first.parsed.id,
        client=client,
        body=models.PatchedLeadUpdateRequest(company="Acme Freight"),
        if_match=first.headers["ETag"],
    )
    assert isinstance(patched.parsed, models.Lead), patched.content
    found["patched"] = (patched.parsed.company, patched.parsed.version, patched.headers["ETag"])

    # 4. A batch of 10, two of them refused item by item.
    items = [
        models.LeadCreateRequest(email=f"batch{n}@acme.example", first_name=f"B{n}")
        for n in range(8)
    ]
    items.append(models.LeadCreateRequest(email="bad.campaign@acme.example", campaign=999_999))
    items.append(models.LeadCreateRequest(email="bad.persona@acme.example", persona=999_999))
    batch = _op(api, "leads", "leads_batch_create").sync(
        client=client, body=models.BatchRequest(items=items)
    )
    assert isinstance(batch, models.BatchResult), batch
    found["batch"] = {
        "counts": (batch.counts.created, batch.counts.error),
        "errors": [
            (result.index, result.status.value, [item.pointer for item in result.errors])
            for result in batch.results
            if result.status == models.BatchItemStatusEnum.ERROR
        ],
        "typed": all(isinstance(r, models.BatchItemResult) for r in batch.results),
    }

    # 5. A hand-off; then the first lead's e-mail again: a 409 read as a typed problem.
    move = _op(api, "leads", "leads_transitions_create")
    hand_off = models.TransitionRequest(
        transition=models.TransitionEnum.HAND_OFF, assignee=assignee, criteria=criteria
    )
    handed = move.sync_detailed(
        first.parsed.id, client=client, body=hand_off, if_match=patched.headers["ETag"]
    )
    again = create.sync_detailed(client=client, body=body)
    assert isinstance(handed.parsed, models.Lead), handed.content
    found["handed_off"] = (handed.parsed.stage, handed.parsed.owner.id)
    assert isinstance(again.parsed, models.Problem), again.content
    found["conflict"] = (
        int(again.status_code),
        again.parsed.code,
        again.parsed.status,
        again.parsed.existing_id,
    )
    found["problem_codes"] = models.ProblemCodeEnum
    return found


def models_unset(api: ModuleType) -> Any:
    return import_module(f"{api.__name__}.types").UNSET
