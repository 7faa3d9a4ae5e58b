"""The Bus's own operations against a real nats-server: what the code above bus/ uses instead of nats."""

from __future__ import annotations

import asyncio

import nats.js.errors

from gaai.bus import subjects
from gaai.bus.codec import encode
from gaai.bus.connection import Bus
from gaai.bus.contract import TaskEvent, WorkflowEvent
from gaai.bus.settings import Settings


async def test_key_value_entries_compare_and_set(fresh_nats):
    bus = await Bus.connect(Settings(nats_url=fresh_nats.url), name="test-entries")
    try:
        bucket = subjects.WORKFLOWS_BUCKET
        assert await bus.get_entry(bucket, "wf-1") is None
        assert await bus.entry_keys(bucket) == []
        first = await bus.create_entry(bucket, "wf-1", b"one")
        assert first is not None
        assert await bus.create_entry(bucket, "wf-1", b"again") is None, "a second create must not overwrite"
        assert await bus.get_entry(bucket, "wf-1") == (b"one", first)
        second = await bus.update_entry(bucket, "wf-1", b"two", first)
        assert second is not None and second > first
        assert await bus.update_entry(bucket, "wf-1", b"stale", first) is None, "an old revision loses"
        assert await bus.get_entry(bucket, "wf-1") == (b"two", second)
        await bus.put_entry(subjects.CANCELLATIONS_BUCKET, "wf-1", b"by request")
        assert await bus.entry_keys(subjects.CANCELLATIONS_BUCKET) == ["wf-1"]
    finally:
        await bus.close()


async def test_a_false_no_keys_from_the_client_library_is_asked_again(fresh_nats, monkeypatch):
    """nats-py's KeyValue.keys() can say "no keys" while keys exist (a race in its watcher, nats-io/nats.py#842,
    seen here as a dashboard listing no workflow): stood in for by raising its NoKeysError once, as the race does."""
    bus = await Bus.connect(Settings(nats_url=fresh_nats.url), name="test-keys")
    try:
        bucket = subjects.WORKFLOWS_BUCKET
        kv = bus._kv(bucket)
        listed = kv.keys
        calls = []

        async def first_answer_wrong():
            calls.append(1)
            if len(calls) == 1:
                raise nats.js.errors.NoKeysError
            return await listed()

        monkeypatch.setattr(kv, "keys", first_answer_wrong)
        assert await bus.entry_keys(bucket) == [] and len(calls) == 1, "an empty stream is not asked twice"
        await bus.create_entry(bucket, "wf-1", b"one")
        calls.clear()
        assert await bus.entry_keys(bucket) == ["wf-1"]
        assert len(calls) == 2
    finally:
        await bus.close()


async def test_objects_and_stored_messages(fresh_nats):
    bus = await Bus.connect(Settings(nats_url=fresh_nats.url), name="test-objects")
    try:
        assert await bus.get_object(subjects.REPORTS_BUCKET, "wf/r.md") is None
        assert await bus.object_size(subjects.DOCUMENTS_BUCKET, "upload/x.md") is None
        await bus.put_object(subjects.REPORTS_BUCKET, "wf/r.md", b"# report")
        await bus.put_object(subjects.DOCUMENTS_BUCKET, "upload/x.md", b"12345")
        assert await bus.get_object(subjects.REPORTS_BUCKET, "wf/r.md") == b"# report"
        assert await bus.object_size(subjects.DOCUMENTS_BUCKET, "upload/x.md") == 5

        assert await bus.stored_messages(subjects.DLQ_STREAM) == []
        for n in (1, 2, 3):
            await bus.publish(subjects.dlq_subject("schema"), f"letter {n}".encode(), {subjects.HEADER_MSG_ID: f"d{n}"})
        await bus.delete_stored_message(subjects.DLQ_STREAM, 2)
        assert await bus.stored_messages(subjects.DLQ_STREAM) == [(1, b"letter 1"), (3, b"letter 3")]
        assert await bus.stored_message(subjects.DLQ_STREAM, 2) is None
        assert await bus.last_sequence(subjects.DLQ_STREAM) == 3
        assert await bus.consumer_progress(subjects.RESULTS_STREAM, subjects.CATALOG_CONSUMER) is None
    finally:
        await bus.close()


async def test_events_are_followed_live_or_replayed_and_garbage_is_skipped(fresh_nats):
    bus = await Bus.connect(Settings(nats_url=fresh_nats.url), name="test-events")
    try:
        early = WorkflowEvent(workflow_id="wf", status="running", at=1.0)
        await bus.emit(early)
        await bus.nc.publish(subjects.event_subject("wf"), b"not an event")
        await bus.nc.flush()
        await asyncio.sleep(0.2)  # stored before anyone follows
        replayed: list[object] = []
        live: list[object] = []
        replaying = await bus.follow_events("wf", replayed.append, replay=True)
        following = await bus.follow_events("*", live.append, replay=False)
        late = TaskEvent(workflow_id="wf", task_id="wf.schema", agent="schema", label="", status="running", at=2.0)
        await bus.js.publish(subjects.event_subject("wf"), encode(late))
        for _ in range(100):
            if len(replayed) == 2 and live:
                break
            await asyncio.sleep(0.05)
        await replaying.close()
        await following.close()
        assert replayed == [early, late]
        assert live == [late], "without replay only events published after subscribing arrive"
    finally:
        await bus.close()
