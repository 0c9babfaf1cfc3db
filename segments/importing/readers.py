"""Streaming readers: a text stream in, ``Record``s out, one at a time, whatever the file size."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

# How much text the JSON-array reader pulls at a time; one record may span several reads.
READ_SIZE = 1 << 16
# A single JSON object larger than this is an error rather than a reason to keep buffering.
MAX_RECORD_CHARS = 1 << 20


@dataclass(slots=True)
class Record:
    """One row of the file: where it starts, and its values by column or key (``None``: unreadable)."""

    line: int
    values: dict[str, Any] | None
    text: bool = False  # CSV: the values are in ``cells``, in the header's order
    error: str = ""
    cells: list[str] | None = None


class FileError(Exception):
    """The file cannot be read on: nothing after ``line`` is imported."""

    def __init__(self, line: int, message: str, field: str = "") -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.field = field
        self.message = message


def utf8_problem(binary: BinaryIO) -> FileError | None:
    """The first byte of ``binary`` that is not UTF-8, as an error naming it, its offset and its
    line; None for UTF-8 text. A streaming pass in the decoder's C code (~1 s for 1 GB)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes read before ``chunk``
    lines = 1  # the line at ``offset``
    while True:
        chunk = binary.read(READ_SIZE)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            # exc.object is the decoder's held-back bytes (a sequence cut by the read) + chunk
            start = offset - (len(exc.object) - len(chunk)) + exc.start
            line = lines + chunk[: max(0, start - offset)].count(b"\n")
            byte = exc.object[exc.start] if exc.start < len(exc.object) else None
            what = f"byte 0x{byte:02X}" if byte is not None else "a truncated character"
            message = f"the file is not UTF-8 text: {what} at offset {start:,} (line {line}); save it as UTF-8"
            return FileError(line, message)
        if not chunk:
            return None
        offset += len(chunk)
        lines += chunk.count(b"\n")


def detect_json_layout(stream: TextIO) -> str:
    """``array`` when the first non-blank character is ``[``, else ``lines`` (JSON Lines)."""
    position = stream.tell()
    while True:
        char = stream.read(1)
        if char == "" or not char.isspace():
            break
    stream.seek(position)
    return "array" if char == "[" else "lines"


def read_csv(stream: TextIO) -> tuple[list[str], Iterator[Record]]:
    """The header and an iterator of the data rows (blank lines skipped)."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise FileError(1, "the file is empty; a CSV import needs a header row") from None
    except csv.Error as exc:
        raise FileError(1, f"not readable as CSV: {exc}") from None
    header = [name.strip() for name in header]

    def rows() -> Iterator[Record]:
        width = len(header)
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileError(start, f"not readable as CSV: {exc}") from None
            line, start = start, reader.line_num + 1
            if not cells:
                continue
            if len(cells) != width:
                yield Record(line, None, text=True, error=f"has {len(cells)} cells, the header has {width}")
                continue
            yield Record(line, None, text=True, cells=cells)

    return header, rows()


def _json_record(line: int, value: Any) -> Record:
    if not isinstance(value, dict):
        return Record(line, None, error=f"expected an object, got {type(value).__name__}")
    return Record(line, value)


def read_json_lines(stream: TextIO) -> Iterator[Record]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            yield Record(number, None, error=f"invalid JSON: {exc}")
            continue
        yield _json_record(number, value)


def read_json_array(stream: TextIO) -> Iterator[Record]:
    """Objects of a top-level JSON array, decoded one at a time from a sliding buffer.

    ``raw_decode`` on a buffer that ends inside an object fails; then more text is read and the
    same object tried again. Objects are small next to ``READ_SIZE``, so retries are rare.
    """
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    line = 1  # the line at ``position``
    eof = False

    def fill() -> bool:
        nonlocal buffer, position, eof
        chunk = stream.read(READ_SIZE)
        if not chunk:
            eof = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    def skip_space() -> None:
        nonlocal position, line
        while True:
            while position < len(buffer) and buffer[position].isspace():
                if buffer[position] == "\n":
                    line += 1
                position += 1
            if position < len(buffer) or eof or not fill():
                return

    skip_space()
    if position >= len(buffer) or buffer[position] != "[":
        raise FileError(line, "expected a JSON array of objects or JSON Lines")
    position += 1
    expect_value = True
    while True:
        skip_space()
        if position >= len(buffer):
            raise FileError(line, "the JSON array is not closed")
        char = buffer[position]
        if char == "]":
            return
        if not expect_value:
            if char != ",":
                raise FileError(line, f"expected ',' or ']' between array items, got {char!r}")
            position += 1
            expect_value = True
            continue
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
                break
            except ValueError as exc:
                if eof or len(buffer) - position > MAX_RECORD_CHARS:
                    raise FileError(line, f"invalid JSON: {exc}") from None
                fill()
        start_line = line
        line += buffer.count("\n", position, end)
        position = end
        expect_value = False
        yield _json_record(start_line, value)


def read_json(stream: TextIO) -> Iterator[Record]:
    if detect_json_layout(stream) == "array":
        return read_json_array(stream)
    return read_json_lines(stream)


def count_records(stream: TextIO, format: str) -> int:
    """How many records the file holds: a streaming pass, so progress can show a percentage."""
    if format == "csv":
        try:
            _, rows = read_csv(stream)
            return sum(1 for _ in rows)
        except FileError:
            return 0
    if detect_json_layout(stream) == "lines":
        return sum(1 for raw in stream if raw.strip())
    try:
        return sum(1 for _ in read_json_array(stream))
    except FileError:
        return 0
