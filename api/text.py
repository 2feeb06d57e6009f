"""Text that reaches a terminal or a log file: one escaping rule for the CLI and the logs.

Values recorded from requests (a revocation comment, a token name, a subject) may hold
newlines, terminal escapes or bidi overrides. Printed as they are, a comment holding
``"\\n     42  2026-... Certificate.Revoked ..."`` reads like a real event line. So every
line the CLI prints and every log record goes through :func:`printable`: control
characters (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
characters), line and paragraph separators, surrogates, private-use and unassigned code
points become ``\\n``, ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``. Letters, digits,
punctuation and spaces of every script (Chinese included) are kept. Backslashes are kept
as they are; ``certledger events --json`` shows the exact values.
"""

from __future__ import annotations

import logging
import traceback
import unicodedata
from typing import Any

__all__ = ["printable", "install_log_escaping"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(character: str) -> str:
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character that is not visible text escaped (see the module)."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or unicodedata.category(c) == "Zs" else _escape(c) for c in text)


_installed: list[Any] = []
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def _traceback_lines(exc_info: Any) -> list[str]:
    """A traceback as ``traceback.format_exception`` gives it, one list item a line, with
    each exception's message escaped (a newline in a message is not a new line)."""
    chain = []
    current: traceback.TracebackException | None = traceback.TracebackException(*exc_info)
    while current is not None:
        if current.__cause__ is not None:
            chain.append((_CAUSE, current))
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            chain.append((_CONTEXT, current))
            current = current.__context__
        else:
            chain.append(("", current))
            current = None
    lines: list[str] = []
    for message, exception in reversed(chain):
        if message:  # this exception's relation to the one printed before it
            lines += ["", message, ""]
        if exception.stack:
            lines.append("Traceback (most recent call last):")
            lines += [printable(line) for frame in exception.stack.format()
                      for line in frame.rstrip("\n").split("\n")]
        lines += [printable(part.rstrip("\n")) for part in exception.format_exception_only()]
    return lines


def install_log_escaping() -> None:
    """Escape every log record of this process (any logger, any handler) as it is made:
    the message with its arguments through :func:`printable`, and an exception's
    traceback indented under it, so no record can start a line that looks like another.
    Idempotent."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the record as logging would show it
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = printable(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = "\n".join("    " + line
                                        for line in _traceback_lines(record.exc_info))
        if record.stack_info:
            record.stack_info = "\n".join("    " + printable(line)
                                          for line in record.stack_info.split("\n"))
        return record

    logging.setLogRecordFactory(factory)
    _installed.append(factory)
