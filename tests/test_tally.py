import asyncio

from prometheus_client import CollectorRegistry, Counter, Histogram

from tracker.tally import APPLY_S, Tally

BUCKETS = (0.001, 0.01, 0.1, 1)
VALUES = [0.0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.99, 1, 1.5, 30]


def samples(registry: CollectorRegistry) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for m in registry.collect() for s in m.samples
            if not s.name.endswith("_created")}


def metrics_in(registry: CollectorRegistry):
    return (
        Counter("requests", "r", ["route"], registry=registry),
        Histogram("latency", "l", ["route"], buckets=BUCKETS, registry=registry),
    )


def test_applied_tallies_read_exactly_like_direct_updates():
    direct, tallied = CollectorRegistry(), CollectorRegistry()
    counter, histogram = metrics_in(direct)
    for v in VALUES:
        counter.labels("/api/event").inc()
        histogram.labels("/api/event").observe(v)
    counter.labels("/js").inc(3)

    tally = Tally()
    counter, histogram = metrics_in(tallied)
    for v in VALUES:
        tally.inc(counter.labels("/api/event"))
        tally.observe(histogram.labels("/api/event"), v)
    tally.inc(counter.labels("/js"), 3)
    assert samples(tallied)[("latency_count", (("route", "/api/event"),))] == 0  # nothing until applied
    tally.apply()
    assert samples(tallied) == samples(direct)
    assert samples(direct)[("latency_bucket", (("le", "0.001"), ("route", "/api/event")))] == 3


def test_the_background_task_applies_within_its_interval():
    registry = CollectorRegistry()
    counter, _ = metrics_in(registry)
    tally = Tally()

    async def scenario():
        task = asyncio.create_task(tally.apply_forever())
        tally.inc(counter.labels("/api/event"), 5)
        await asyncio.sleep(APPLY_S * 2.5)
        task.cancel()

    asyncio.run(scenario())
    assert registry.get_sample_value("requests_total", {"route": "/api/event"}) == 5
    tally.apply()  # nothing is applied twice
    assert registry.get_sample_value("requests_total", {"route": "/api/event"}) == 5
