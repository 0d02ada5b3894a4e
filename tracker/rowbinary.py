"""ClickHouse's RowBinary format: encoders of a value of a ClickHouse type, made from the type's name.

A RowBinary row is its columns' values one after the other, each in its type's binary form, with
nothing between them and no header: so rows concatenate into an insert body, and parts of a row
(a few columns, encoded once and reused) concatenate into a row. Unlike Native, which is columnar,
a row can be appended to a spool on its own. What each type takes from Python:

    String, LowCardinality(String)   str (RowBinary writes a LowCardinality as its inner type)
    (U)Int8..64, Float32/64, Bool     int, float, bool
    Decimal(P, S)                     float or int (as its shortest decimal text, like JSON input)
    DateTime64(p, tz)                 int, milliseconds since the epoch
    UUID                              uuid.UUID
    Nullable(T), Array(T), Map(K, V)  None or T; a sequence; a dict

Fixed-width values are packed with struct; lengths and counts are LEB128 varints
(clickhouse-connect's write_leb128 for the rare ones of 128 and more).
"""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any, Callable

from clickhouse_connect.driver.common import write_leb128

Encoder = Callable[[Any], bytes]

_SHORT = tuple(bytes((n,)) for n in range(128))  # the one-byte varints: almost every length
_NULL, _NOT_NULL = b"\x01", b"\x00"
_FIXED = {"UInt8": "B", "UInt16": "H", "UInt32": "I", "UInt64": "Q", "Int8": "b", "Int16": "h", "Int32": "i",
          "Int64": "q", "Float32": "f", "Float64": "d"}
_LOW64 = (1 << 64) - 1
_UUID = struct.Struct("<QQ").pack


def varint(n: int) -> bytes:
    """LEB128, as RowBinary prefixes strings and collections with their length."""
    if n < 128:
        return _SHORT[n]
    out = bytearray()
    write_leb128(n, out)
    return bytes(out)


def string(value: str) -> bytes:
    data = value.encode()
    n = len(data)
    return (_SHORT[n] if n < 128 else varint(n)) + data


def uuid_value(value) -> bytes:
    """ClickHouse stores a UUID as two UInt64, the high half first, each little-endian."""
    n = value.int
    return _UUID(n >> 64, n & _LOW64)


def encoder(ch_type: str) -> Encoder:
    """The encoder of one value of `ch_type`; ValueError for a type this module does not write."""
    name, args = parse_type(ch_type)
    if name == "String":
        return string
    if name == "LowCardinality":
        return encoder(args[0])
    if name in _FIXED:
        return struct.Struct("<" + _FIXED[name]).pack
    if name == "Bool":
        return lambda v: b"\x01" if v else b"\x00"
    if name == "UUID":
        return uuid_value
    if name == "DateTime64":
        return _datetime64(int(args[0]))
    if name == "Decimal":
        return _decimal(int(args[0]), int(args[1]))
    if name == "Nullable":
        inner = encoder(args[0])
        return lambda v: _NULL if v is None else _NOT_NULL + inner(v)
    if name == "Array":
        inner = encoder(args[0])
        return lambda values: varint(len(values)) + b"".join(map(inner, values))
    if name == "Map":
        key, value = encoder(args[0]), encoder(args[1])
        return lambda m: varint(len(m)) + b"".join([key(k) + value(v) for k, v in m.items()])
    raise ValueError(f"no RowBinary encoder for the ClickHouse type {ch_type}")


def _datetime64(precision: int) -> Encoder:
    pack = struct.Struct("<q").pack
    if precision == 3:
        return pack
    if precision > 3:
        factor = 10 ** (precision - 3)
        return lambda ms: pack(ms * factor)
    divisor = 10 ** (3 - precision)
    return lambda ms: pack(ms // divisor)


def _decimal(precision: int, scale: int) -> Encoder:
    """A Decimal is its value times 10**scale as an integer of 4, 8 or 16 bytes. The value is read
    from its shortest decimal text and cut (not rounded) to `scale` digits, as ClickHouse reads
    the JSON number of the same float."""
    size = 4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32

    def encode(value) -> bytes:
        return int(Decimal(repr(value)).scaleb(scale)).to_bytes(size, "little", signed=True)

    return encode


def parse_type(ch_type: str) -> tuple[str, list[str]]:
    """'Map(LowCardinality(String), String)' -> ('Map', ['LowCardinality(String)', 'String'])."""
    ch_type = ch_type.strip()
    if "(" not in ch_type:
        return ch_type, []
    name, inner = ch_type.split("(", 1)
    if not inner.endswith(")"):
        raise ValueError(f"not a ClickHouse type: {ch_type}")
    args, depth, start, body = [], 0, 0, inner[:-1]
    for i, c in enumerate(body):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(body[start:i].strip())
            start = i + 1
    args.append(body[start:].strip())
    return name.strip(), args
