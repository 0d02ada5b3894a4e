"""Reading RowBinary rows back in tests, written from ClickHouse's description of the format
(not from tracker/rowbinary.py's encoders, so the two check each other; tests/test_rowbinary.py
also has ClickHouse itself read them). Values come back as the JSON rows of earlier versions held
them: DateTime64 as seconds with a fraction, UUID as text, Decimal as a float."""

from __future__ import annotations

import struct
import uuid

from tracker.events import COLUMNS
from tracker.rowbinary import parse_type

_FIXED = {"UInt8": "<B", "UInt16": "<H", "UInt32": "<I", "UInt64": "<Q", "Int8": "<b", "Int16": "<h",
          "Int32": "<i", "Int64": "<q", "Float32": "<f", "Float64": "<d"}


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, offset


def reader(ch_type: str):
    name, args = parse_type(ch_type)
    if name == "LowCardinality":
        return reader(args[0])
    if name == "String":
        def read(data, offset):
            n, offset = _varint(data, offset)
            return data[offset:offset + n].decode(), offset + n
        return read
    if name in _FIXED:
        s = struct.Struct(_FIXED[name])
        return lambda data, offset: (s.unpack_from(data, offset)[0], offset + s.size)
    if name == "DateTime64":
        scale = 10 ** int(args[0])
        return lambda data, offset: (struct.unpack_from("<q", data, offset)[0] / scale, offset + 8)
    if name == "UUID":
        def read(data, offset):
            high, low = struct.unpack_from("<QQ", data, offset)
            return str(uuid.UUID(int=high << 64 | low)), offset + 16
        return read
    if name == "Decimal":
        size = 4 if int(args[0]) <= 9 else 8 if int(args[0]) <= 18 else 16
        scale = 10 ** int(args[1])
        return lambda data, offset: (int.from_bytes(data[offset:offset + size], "little", signed=True) / scale, offset + size)
    if name == "Nullable":
        inner = reader(args[0])
        return lambda data, offset: (None, offset + 1) if data[offset] else inner(data, offset + 1)
    if name == "Array":
        inner = reader(args[0])

        def read(data, offset):
            n, offset = _varint(data, offset)
            out = []
            for _ in range(n):
                value, offset = inner(data, offset)
                out.append(value)
            return out, offset
        return read
    if name == "Map":
        key, value = reader(args[0]), reader(args[1])

        def read(data, offset):
            n, offset = _varint(data, offset)
            out = {}
            for _ in range(n):
                k, offset = key(data, offset)
                out[k], offset = value(data, offset)
            return out, offset
        return read
    raise ValueError(f"no reader for {ch_type}")


_READERS = [(name, reader(ch_type)) for name, ch_type, _ in COLUMNS]


def decode_rows(data: bytes) -> list[dict]:
    """Every row of RowBinary `data` as a dict of its columns; AssertionError if bytes are left over or missing."""
    rows, offset = [], 0
    while offset < len(data):
        row = {}
        for name, read in _READERS:
            row[name], offset = read(data, offset)
        rows.append(row)
    assert offset == len(data), "a row's bytes run past the end"
    return rows


def decode_row(line: bytes) -> dict:
    [row] = decode_rows(line)
    return row
