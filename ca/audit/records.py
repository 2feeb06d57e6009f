"""What a leaf of the audit tree is, and one line of an export.

**Leaf.** Each leaf is one stored event exactly as the event store holds it, encoded as
(TLS presentation language, RFC 8446 §3; integers big-endian)::

    struct {
        uint64 position;              /* the event's position in the log (1, 2, ...) */
        opaque aggregate_id[16];      /* the UUID's 16 octets (RFC 9562) */
        uint64 version;               /* the aggregate's version this event made */
        opaque topic<1..2^16-1>;      /* UTF-8, e.g. certledger:Certificate.Revoked:v1 */
        opaque state<0..2^32-1>;      /* the stored state octets, as recorded */
    } StoredEventLeaf;

and its leaf hash is SHA-256(0x00 || StoredEventLeaf) (RFC 9162 §2.1.1). The state is the
event's JSON as the store keeps it (who, when and every field), so checking a leaf needs
no decoding, and a change to any octet, or to the event's place in the log, changes it.

**Export line.** One JSON object (ASCII, one line) per event::

    {"position": 42, "aggregate_id": "…", "version": 3, "topic": "…",
     "time": "2026-05-01T08:00:00.123456+00:00", "actor": {"id": "…", "role": "officer"},
     "payload": {…every other field; bytes as base64, times ISO 8601, UUIDs…},
     "state": "<the stored state octets, as text>"}

``payload``, ``time`` and ``actor`` are the event as the application decodes it (its own
mapper); ``state`` is what the leaf is made of: the stored octets as UTF-8 text (JSON
escapes them exactly), or, should they not be UTF-8, ``"state_base64"`` instead.
:func:`payload_matches` checks that the two agree, so an auditor reading ``payload``
reads what was signed.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import struct
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from json.scanner import make_scanner
from typing import Any, NamedTuple
from uuid import UUID

__all__ = ["leaf_input", "stored_leaf_hash", "render_line", "parse_line", "ExportRecord",
           "ExportFormatError", "payload_matches", "plain"]

_HEAD = struct.Struct(">Q16sQH")
_LENGTH = struct.Struct(">I")
_sha256 = hashlib.sha256
_b64 = binascii.b2a_base64
_unb64 = binascii.a2b_base64
_TOP = frozenset({"originator_id", "originator_version", "timestamp", "actor_id",
                  "actor_role"})
_NOT_PAYLOAD = frozenset({"timestamp", "actor_id", "actor_role", "class_version"})


class ExportFormatError(ValueError):
    """A line is not an export line (not JSON, a field missing or of the wrong type)."""


def leaf_input(position: int, aggregate_id: UUID, version: int, topic: str,
               state: bytes) -> bytes:
    """The StoredEventLeaf octets of one stored event."""
    name = topic.encode()
    return _HEAD.pack(position, aggregate_id.bytes, version, len(name)) + name \
        + _LENGTH.pack(len(state)) + state


def stored_leaf_hash(position: int, aggregate_id: UUID | bytes, version: int, topic: str,
                     state: bytes) -> bytes:
    """SHA-256(0x00 || StoredEventLeaf); the id as a UUID or its 16 octets."""
    name = topic.encode()
    raw = aggregate_id if type(aggregate_id) is bytes else aggregate_id.bytes  # type: ignore[union-attr]
    return _sha256(b"\x00" + _HEAD.pack(position, raw, version, len(name))
                   + name + _LENGTH.pack(len(state)) + state).digest()


def _json_value(value: Any) -> Any:
    """What the JSON encoder cannot write itself: bytes as base64, times ISO 8601, UUIDs
    with dashes, decimals as text."""
    kind = type(value)
    if kind is bytes:
        return _b64(value, newline=False).decode()
    if kind is datetime:
        return value.isoformat()
    if kind is UUID or kind is Decimal:
        return str(value)
    raise TypeError(f"{kind.__name__} in an event cannot be exported")


_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False,
                           default=_json_value).encode


def plain(value: Any) -> Any:
    """A decoded value as the export shows it (see :func:`_json_value`)."""
    return json.loads(_encode(value))


def render_line(position: int, topic: str, state: bytes, event: Any) -> str:
    """The export line of one stored event and its decoded form ``event``."""
    fields = event.__dict__
    actor_id = fields.get("actor_id")
    return _encode({
        "position": position, "aggregate_id": str(event.originator_id),
        "version": event.originator_version, "topic": topic,
        "time": fields["timestamp"].isoformat(),
        "actor": None if actor_id is None else {"id": actor_id,
                                                "role": fields.get("actor_role")},
        "payload": {key: value for key, value in fields.items() if key not in _TOP},
        **_state_field(state)})


def _state_field(state: bytes) -> dict[str, str]:
    try:
        return {"state": state.decode()}
    except UnicodeDecodeError:
        return {"state_base64": _b64(state, newline=False).decode()}


class ExportRecord(NamedTuple):
    position: int
    aggregate_bytes: bytes  # the id's 16 octets
    version: int
    topic: str
    state: bytes
    time: Any
    actor: Any
    payload: Any

    @property
    def aggregate_id(self) -> UUID:
        return UUID(bytes=self.aggregate_bytes)

    def leaf_hash(self) -> bytes:
        return stored_leaf_hash(self.position, self.aggregate_bytes, self.version, self.topic,
                                self.state)


def _parser(decoder: json.JSONDecoder) -> Callable[[str], Any]:
    """``decoder``'s scanner called directly (json.loads adds two Python calls per line,
    a fifth of the time of a short line); the whole text must be one JSON value."""
    scan = make_scanner(decoder)  # type: ignore[arg-type]

    def parse(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except StopIteration:
            raise ValueError("not JSON") from None
        if end != len(text):
            raise ValueError("more than one JSON value")
        return value

    return parse


_line = _parser(json.JSONDecoder())


def parse_line(line: str | bytes) -> ExportRecord:
    """One export line, its fields checked for type (ExportFormatError otherwise)."""
    try:
        text = line.decode() if isinstance(line, bytes) else line
        data = _line(text.rstrip("\r\n"))
        position, version, topic = data["position"], data["version"], data["topic"]
        aggregate = bytes.fromhex(data["aggregate_id"].replace("-", ""))
        state = data["state"].encode() if "state" in data else _unb64(data["state_base64"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise ExportFormatError(f"not an export line ({type(exc).__name__}: {exc})") from None
    if type(position) is not int or type(version) is not int or type(topic) is not str \
            or not 0 < position < 2 ** 64 or not 0 <= version < 2 ** 64 \
            or not 0 < len(topic) < 2 ** 14 or len(aggregate) != 16:
        raise ExportFormatError("position, version, topic or aggregate id is malformed")
    return ExportRecord(position, aggregate, version, topic, state, data.get("time"),
                        data.get("actor"), data.get("payload"))


def _untagged(value: dict[str, Any]) -> Any:
    """A stored JSON object as the export shows it: the transcoder's tagged values
    ({"_type_": name, "_data_": text}) become their text (a UUID with dashes)."""
    if len(value) == 2 and "_type_" in value and "_data_" in value:
        if value["_type_"] == "uuid_hex":
            return str(UUID(value["_data_"]))
        return value["_data_"]
    return value


_stored = _parser(json.JSONDecoder(object_hook=_untagged))


def payload_matches(record: ExportRecord) -> bool:
    """Whether the line's time, actor and payload say what its stored state says."""
    try:
        stored = _stored(record.state.decode())
    except (ValueError, UnicodeDecodeError):
        return False
    if type(stored) is not dict:
        return False
    actor = stored.get("actor_id")
    expected_actor = None if actor is None else {"id": actor, "role": stored.get("actor_role")}
    if record.actor != expected_actor or record.time != stored.get("timestamp"):
        return False
    return record.payload == {key: value for key, value in stored.items()
                              if key not in _NOT_PAYLOAD}
