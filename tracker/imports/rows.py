"""Rows of an import file as raw events: JSONL objects or CSV records, renamed by --map, numbered by line.

A CSV file holds text only; the columns that are numbers or JSON in an event are converted here
(`value`, a numeric `ts`, `props` and `items` as JSON), so the detailed validator
(tracker/ingest/payload.py) judges a CSV row exactly as it judges the same event sent live. An
empty CSV cell is an absent field.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

CSV_NUMBERS = frozenset({"value"})
CSV_JSON = frozenset({"props", "items"})
CSV_TIMES = frozenset({"ts", "sent_at"})


@dataclass
class Row:
    line: int  # 1-based line of the file where the row starts
    raw: Any  # the event as parsed, to be validated; None when the line could not be parsed
    error: str = ""  # why raw is None


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`--map src=dst` options as {src: dst}; ValueError names a malformed one."""
    mapping = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise ValueError(f"--map {pair!r}: write it as SOURCE=FIELD, e.g. order_id=transaction_id")
        mapping[src.strip()] = dst.strip()
    return mapping


def file_format(path: Path, given: str | None) -> str:
    return given or ("csv" if path.suffix.lower() == ".csv" else "jsonl")


def read_rows(path: Path, fmt: str, mapping: dict[str, str]) -> Iterator[Row]:
    return _csv_rows(path, mapping) if fmt == "csv" else _jsonl_rows(path, mapping)


def _jsonl_rows(path: Path, mapping: dict[str, str]) -> Iterator[Row]:
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield Row(line_no, None, f"not valid JSON: {exc}")
                continue
            if mapping and isinstance(raw, dict):
                raw = {mapping.get(k, k): v for k, v in raw.items()}
            yield Row(line_no, raw)


def _csv_rows(path: Path, mapping: dict[str, str]) -> Iterator[Row]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            return
        names = [mapping.get(n, n) for n in reader.fieldnames]
        line_no = reader.line_num + 1
        for record in reader:
            if None in record:  # csv puts cells beyond the header under None
                yield Row(line_no, None, "more cells than header columns")
                line_no = reader.line_num + 1
                continue
            try:
                yield Row(line_no, _csv_event(names, record.values()))
            except ValueError as exc:
                yield Row(line_no, None, str(exc))
            line_no = reader.line_num + 1  # a quoted cell may span lines


def _csv_event(names: list[str], cells) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name, cell in zip(names, cells):
        if cell is None or cell == "":
            continue
        event[name] = _csv_value(name, cell)
    return event


def _csv_value(name: str, cell: str) -> Any:
    if name in CSV_JSON:
        try:
            return orjson.loads(cell)
        except orjson.JSONDecodeError:
            raise ValueError(f"{name}: must be JSON, e.g. [{{\"item_id\": \"A1\", \"price\": 9.5}}]") from None
    if name in CSV_NUMBERS or (name in CSV_TIMES and _is_number(cell)):
        try:
            number = float(cell)
        except ValueError:
            return cell  # the validator says "must be a number"
        return int(number) if number.is_integer() and name in CSV_TIMES else number
    return cell


def _is_number(cell: str) -> bool:
    return cell.replace(".", "", 1).isdigit()


def count_lines(path: Path) -> int:
    """Lines in the file, for the progress bar's total: a fast pass over the bytes."""
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n
