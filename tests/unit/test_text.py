"""One escaping rule for what reaches a terminal or a log: recorded values cannot start a
line of their own, move the cursor or reorder text."""

from __future__ import annotations

import io
import logging
import sys
import traceback
from collections.abc import Iterator

import pytest

from api.text import install_log_escaping, printable

FORGED = "lost\n   4242  2026-01-01 00:00:00Z  certledger:Certificate.Revoked:v1"


@pytest.mark.parametrize("text,expected", [
    ("plain text, 张三 (北京) ü", "plain text, 张三 (北京) ü"),
    ("a\tb\r\nc", "a\\tb\\r\\nc"),
    ("bell\x07 nul\x00 esc\x1b[2J del\x7f c1\x85",
     "bell\\x07 nul\\x00 esc\\x1b[2J del\\x7f c1\\x85"),
    ("Alice\u202egpj.exe", "Alice\\u202egpj.exe"),
    ("\u2066isolate\u2069 \u200fmark \u061c", "\\u2066isolate\\u2069 \\u200fmark \\u061c"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    ("zero\u200bwidth \ufeffbom", "zero\\u200bwidth \\ufeffbom"),
    ("private \U000f0000", "private \\U000f0000"),
    ("spaces\u00a0and\u3000ideographic", "spaces\u00a0and\u3000ideographic"),
    ("C:\\path\\n stays", "C:\\path\\n stays"),
])
def test_printable_escapes_what_is_not_visible_text(text: str, expected: str) -> None:
    assert printable(text) == expected
    assert printable(text).isprintable() or "\u00a0" in text


@pytest.fixture
def escaped_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    install_log_escaping()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("certledger.test-escaping")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_a_log_record_is_one_line_whatever_its_arguments(
        escaped_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = escaped_log
    logger.info("revoked with comment %s", FORGED)
    logger.warning("%(who)s did it", {"who": "eve\x1b[1A\rINFO certledger: fine"})
    logger.info("the message itself\nspans lines")
    lines = stream.getvalue().splitlines()
    assert lines == [
        "INFO certledger.test-escaping: revoked with comment lost\\n   4242  "
        "2026-01-01 00:00:00Z  certledger:Certificate.Revoked:v1",
        "WARNING certledger.test-escaping: eve\\x1b[1A\\rINFO certledger: fine did it",
        "INFO certledger.test-escaping: the message itself\\nspans lines"]


def test_a_traceback_stays_under_its_record(
        escaped_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = escaped_log
    try:
        raise ValueError(f"bad input {FORGED}")
    except ValueError:
        logger.exception("request failed")
    first, *rest = stream.getvalue().rstrip("\n").split("\n")
    assert first == "ERROR certledger.test-escaping: request failed"
    assert rest and all(line.startswith("    ") for line in rest)
    assert any("ValueError: bad input lost\\n   4242" in line for line in rest)


def test_a_clean_chained_traceback_reads_as_python_prints_it(
        escaped_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = escaped_log
    try:
        try:
            {}["key"]
        except KeyError as exc:
            raise RuntimeError("while loading") from exc
    except RuntimeError:
        expected = "".join(traceback.format_exception(*sys.exc_info())).rstrip("\n")
        logger.exception("failed")
    lines = stream.getvalue().rstrip("\n").split("\n")
    assert lines[0] == "ERROR certledger.test-escaping: failed"
    assert [line.removeprefix("    ") for line in lines[1:]] == expected.split("\n")
