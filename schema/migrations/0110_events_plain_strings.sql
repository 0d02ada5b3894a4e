-- Nine of the events' LowCardinality columns become plain String. Reading a row into a
-- LowCardinality column looks each value up in the part's dictionary, and that was the largest
-- share of ClickHouse's CPU per inserted row: in an interleaved A/B of the flusher's inserts
-- (bench/clickhouse_cost.md) 4.26 -> 2.89 us a row. The owner's page costs the same (its ClickHouse
-- CPU on 10M events +0.4 and +0.8 % in two A/B runs, within the noise): its queries turn these
-- values into strings or hashes of entries anyway. `site` (the first key column) and `name`
-- (nearly every query filters on it; as String the page cost 13-17 % more) stay LowCardinality.
-- The default compression (LZ4): the values repeat, and it is the cheapest to write and read.
-- Parts stored before are rewritten by a background mutation; queries read old and new parts alike
-- meanwhile. Columns mirror tracker/events.py COLUMNS.
ALTER TABLE events
    MODIFY COLUMN hostname String,
    MODIFY COLUMN referrer_host String,
    MODIFY COLUMN source String,
    MODIFY COLUMN medium String,
    MODIFY COLUMN browser String,
    MODIFY COLUMN browser_version String,
    MODIFY COLUMN os String,
    MODIFY COLUMN device String,
    MODIFY COLUMN currency String;
