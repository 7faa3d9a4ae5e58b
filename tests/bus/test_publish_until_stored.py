"""``Bus.publish_until_stored`` against a real nats-server: a publish no stream answers is tried again with the same
message id until one does, and stored once; past its window it fails with ``publish_failed``.

"No stream answers" is made for real by deleting the dead-letter stream (it keeps what it stores whoever reads it),
as a cluster's lost stream leader would leave it for a few seconds, and creating it again while the publish keeps
trying.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from gaai.bus import subjects
from gaai.bus.connection import STREAMS, Bus
from gaai.bus.errors import BusError
from gaai.bus.settings import Settings

DLQ = next(config for config in STREAMS if config.name == subjects.DLQ_STREAM)
SUBJECT = subjects.dlq_subject("vertical")
HEADERS = {subjects.HEADER_MSG_ID: "dlq:wf-1.vertical:1"}


async def test_a_publish_no_stream_answers_is_stored_once_when_the_stream_is_back(fresh_nats):
    bus = await Bus.connect(Settings(nats_url=fresh_nats.url), name="test-publish-retry")
    try:
        await bus.js.delete_stream(subjects.DLQ_STREAM)
        publishing = asyncio.create_task(bus.publish_until_stored(SUBJECT, b"the letter", HEADERS, within_s=10))
        await asyncio.sleep(0.5)
        assert not publishing.done(), "it keeps trying while no stream takes the subject"
        await bus.js.add_stream(DLQ)
        await asyncio.wait_for(publishing, 5)
        await bus.publish_until_stored(SUBJECT, b"the letter", HEADERS)  # a retry after a lost ack
        assert await bus.stored_messages(subjects.DLQ_STREAM) == [(1, b"the letter")]
    finally:
        await bus.close()


async def test_a_publish_no_stream_answers_within_its_window_fails_with_publish_failed(fresh_nats):
    bus = await Bus.connect(Settings(nats_url=fresh_nats.url), name="test-publish-gives-up")
    try:
        await bus.js.delete_stream(subjects.DLQ_STREAM)
        started = time.monotonic()
        with pytest.raises(BusError) as caught:
            await bus.publish_until_stored(SUBJECT, b"the letter", HEADERS, within_s=1)
        assert 0.5 < time.monotonic() - started <= 1.5
        assert caught.value.code == "publish_failed"
        assert caught.value.message == (f"could not publish to {SUBJECT} within 1 s: nats: no response from stream")
    finally:
        await bus.close()
