"""The log checker on synthetic logs (no store): what it names for each kind of change,
including those the store tests cannot make (lines out of order, a head in the middle
missing, a head whose leaves do not lead to its root), and the export line format."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest

from ca.audit.log_check import HEAD_TOPIC, LogChecker
from ca.audit.merkle import Frontier
from ca.audit.records import (
    ExportFormatError,
    leaf_input,
    parse_line,
    payload_matches,
    render_line,
    stored_leaf_hash,
)
from ca.audit.signed_heads import SignedHead

Event = tuple[int, UUID, int, str, bytes, Any]  # position, id, version, topic, state, decoded


class Source:
    def decode(self, item: Event) -> Any:
        return item[5]

    def rehash(self, item: Event, position: int) -> bytes:
        return stored_leaf_hash(position, item[1], item[2], item[3], item[4])


def _log(count: int, head_every: int, gap_at: int | None = None) -> list[Event]:
    """``count`` events, a tree head (an event itself) after every ``head_every``."""
    events: list[Event] = []
    frontier, listed, number, position = Frontier(), [], 0, 0
    while len(events) < count:
        position += 2 if position + 1 == gap_at else 1
        event: Event = (position, uuid4(), 1, "certledger:Test:v1",
                        json.dumps({"n": position}).encode(), None)
        events.append(event)
        leaf = stored_leaf_hash(*event[:5])
        frontier.append(leaf)
        listed.append(leaf)
        if len(listed) == head_every:
            number += 1
            position += 1
            head = SimpleNamespace(
                number=number, tree_size=frontier.size, last_position=position - 1,
                root_hash=frontier.root(), timestamp=datetime.now(UTC), signature=b"",
                signature_algorithm=b"", signer_certificate=b"",
                leaf_hashes=b"".join(listed), frontier=frontier.dump())
            head_event: Event = (position, uuid4(), 1, HEAD_TOPIC, b"{}", head)
            events.append(head_event)
            frontier.append(stored_leaf_hash(*head_event[:5]))
            listed = [stored_leaf_hash(*head_event[:5])]
    return events


def check(events: list[Event], witnesses: list[SignedHead] = ()) -> list[str]:  # type: ignore[assignment]
    checker = LogChecker(Source(), signatures="none")
    for event in events:
        checker.add(event[0], stored_leaf_hash(*event[:5]), event[3], event)
    return [str(finding) for finding in checker.finish(witnesses)]


def _renumber(events: list[Event], start: int, by: int) -> list[Event]:
    return [(e[0] + by, *e[1:]) if e[0] >= start else e for e in events]  # type: ignore[misc]


def test_an_untouched_log_passes_and_every_head_is_checked() -> None:
    events = _log(40, 10)
    checker = LogChecker(Source(), signatures="none")
    for event in events:
        checker.add(event[0], stored_leaf_hash(*event[:5]), event[3], event)
    assert checker.finish() == [] and len(checker.heads) == 4
    assert checker.covered == checker.heads[-1].tree_size


def test_each_change_is_named_with_its_position() -> None:
    events = _log(40, 10)
    changed = list(events)
    changed[4] = (*changed[4][:4], b'{"n": 99}', None)
    assert check(changed)[0].startswith("modified: position 5:")
    assert check(events[:4] + events[5:])[0].startswith("deleted: position 5:")
    shifted = events[:4] + _renumber(events[5:], 6, -1)
    assert check(shifted)[0].startswith("deleted: position 5:")
    forged: Event = (5, uuid4(), 1, "certledger:Test:v1", b'{"forged": 1}', None)
    assert check(events[:4] + [forged] + _renumber(events[4:], 5, 1))[0] \
        .startswith("inserted: position 5:")
    swapped = list(events)
    swapped[2], swapped[6] = (3, *events[6][1:]), (7, *events[2][1:])  # type: ignore[assignment]
    assert check(swapped)[0].startswith("swapped: position 3: the events at positions 3 and 7")
    assert check(events[:3] + [events[4], events[3]] + events[5:])[0] \
        .startswith("reordered: position 4:")


def test_an_event_inserted_into_a_gap_of_positions_is_named() -> None:
    events = _log(30, 10, gap_at=5)  # PostgreSQL may leave such gaps
    assert [e[0] for e in events[:5]] == [1, 2, 3, 4, 6]
    forged: Event = (5, uuid4(), 1, "certledger:Test:v1", b"{}", None)
    assert check(events[:4] + [forged] + events[4:])[0].startswith("inserted: position 5:")


def test_a_missing_head_and_a_head_that_does_not_lead_to_its_root() -> None:
    events = _log(40, 10)
    heads = [i for i, e in enumerate(events) if e[3] == HEAD_TOPIC]
    findings = check(events[:heads[1]] + events[heads[1] + 1:])
    assert findings[0].startswith(f"deleted: position {events[heads[0]][0] + 1}: tree head #2")
    bent = list(events)
    head = SimpleNamespace(**vars(events[heads[2]][5]))
    head.root_hash = hashlib.sha256(b"another root").digest()
    bent[heads[2]] = (*events[heads[2]][:5], head)
    assert any("tree head #3" in f and "does not extend" in f for f in check(bent))


def test_a_witness_head_the_log_lost_is_named_where_it_was() -> None:
    events = _log(30, 10)
    last = max(i for i, e in enumerate(events) if e[3] == HEAD_TOPIC)
    witness = SignedHead.from_event(events[last][5], events[last][0])
    assert check(events, [witness]) == []
    findings = check(events[:last] + events[last + 1:], [witness])
    assert findings == [f"deleted: position {witness.position}: {witness.summary()}, "
                        f"recorded at position {witness.position}, is missing from the log"]


# ---- the leaf and the export line ----------------------------------------------------------


def test_the_leaf_is_the_stored_event_as_docs_audit_md_lays_it_out() -> None:
    aggregate = UUID("00112233-4455-6677-8899-aabbccddeeff")
    expected = (bytes.fromhex("0000000000000007") + aggregate.bytes
                + bytes.fromhex("0000000000000002") + b"\x00\x0ccertledger:X"
                + b"\x00\x00\x00\x02{}")
    assert leaf_input(7, aggregate, 2, "certledger:X", b"{}") == expected
    assert stored_leaf_hash(7, aggregate, 2, "certledger:X", b"{}") == \
        hashlib.sha256(b"\x00" + expected).digest()
    assert stored_leaf_hash(7, aggregate.bytes, 2, "certledger:X", b"{}") == \
        stored_leaf_hash(7, aggregate, 2, "certledger:X", b"{}")


def _event(**fields: Any) -> Any:
    return SimpleNamespace(originator_id=UUID(int=5), originator_version=3, **fields)


STATE = (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-05-01T08:00:00+00:00"},'
         b'"actor_id":"li","actor_role":"officer","der":{"_type_":"b64","_data_":"AAE="},'
         b'"ref":{"_type_":"uuid_hex","_data_":"00000000000000000000000000000005"},"n":1}')
DECODED = _event(timestamp=datetime(2026, 5, 1, 8, tzinfo=UTC), actor_id="li",
                 actor_role="officer", der=b"\x00\x01", ref=UUID(int=5), n=1)


def test_a_line_says_what_its_stored_state_says_and_a_changed_one_is_caught() -> None:
    line = render_line(9, "certledger:X", STATE, DECODED)
    record = parse_line(line)
    assert (record.position, record.aggregate_id, record.version, record.state) == \
        (9, UUID(int=5), 3, STATE)
    assert json.loads(line)["payload"] == {"der": "AAE=", "n": 1,
                                           "ref": "00000000-0000-0000-0000-000000000005"}
    assert payload_matches(record)
    for key, value in (("payload", {"der": "AAI=", "n": 1,
                                    "ref": "00000000-0000-0000-0000-000000000005"}),
                       ("time", "2026-05-01T09:00:00+00:00"),
                       ("actor", {"id": "zhao", "role": "officer"})):
        data = json.loads(line)
        data[key] = value
        assert not payload_matches(parse_line(json.dumps(data)))


def test_a_state_that_is_not_utf8_travels_as_base64() -> None:
    state = STATE + b"\xff"
    line = render_line(9, "certledger:X", state, DECODED)
    assert "state_base64" in json.loads(line)
    assert parse_line(line).state == state


@pytest.mark.parametrize("line", [
    "not json", "[]", "{}", '{"position": 1}',
    '{"position": "1", "aggregate_id": "00112233445566778899aabbccddeeff", "version": 1,'
    ' "topic": "t", "state": "{}"}',
    '{"position": 1, "aggregate_id": "0011", "version": 1, "topic": "t", "state": "{}"}',
    '{"position": 1, "aggregate_id": "00112233445566778899aabbccddeeff", "version": 1,'
    ' "topic": "t", "state": "{}"} {"again": 1}',
    '{"position": 1, "aggregate_id": "00112233445566778899aabbccddeeff", "version": 1,'
    ' "topic": "t", "state": "\\udc80"}'])
def test_what_is_not_an_export_line_is_refused(line: str) -> None:
    with pytest.raises(ExportFormatError):
        parse_line(line)
