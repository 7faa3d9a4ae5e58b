"""How often a message was delivered, read from its JetStream acknowledgement subject."""

from __future__ import annotations

from nats.aio.msg import Msg

from gaai.bus.consume import delivery_count

ACK_SUBJECTS = [
    "$JS.ACK.GAAI_TASKS.agent-execution.3.120.57.1733450000000000000.4",  # no domain
    "$JS.ACK.hub.ACCHASH.GAAI_TASKS.agent-execution.3.120.57.1733450000000000000.4.rand",  # a domain, an account hash
]


def test_the_delivery_count_matches_nats_py_metadata_in_both_subject_formats():
    for reply in ACK_SUBJECTS:
        message = Msg(_client=None, subject="gaai.task.execution", reply=reply, data=b"")  # type: ignore[arg-type]
        assert delivery_count(reply) == message.metadata.num_delivered == 3


def test_a_subject_that_is_no_acknowledgement_counts_one_delivery():
    for reply in (None, "", "_INBOX.abc", "$JS.ACK.too.short", "$JS.ACK.a.b.c.d.e.f.g.h"):
        assert delivery_count(reply) == 1
