from tracker.ingest.ratelimit import RateLimiter


def test_bucket_allows_a_burst_then_the_rate():
    limiter = RateLimiter(rate_per_s=10, burst=20)
    assert limiter.take("ip", 20, now=0.0) == 0
    assert limiter.take("ip", 1, now=0.0) == 0.1  # empty: one token takes 1/10 s
    assert limiter.take("ip", 5, now=0.5) == 0  # 5 tokens refilled in half a second
    assert limiter.take("other", 20, now=0.5) == 0  # buckets are per key


def test_zero_rate_means_no_limit():
    limiter = RateLimiter(rate_per_s=0, burst=0)
    assert all(limiter.take("ip", 10_000) == 0 for _ in range(100))


def test_keys_are_bounded():
    limiter = RateLimiter(rate_per_s=1, burst=1, max_keys=3)
    for key in "abcde":
        limiter.take(key, 1, now=0.0)
    assert limiter.take("a", 1, now=0.0) == 0  # "a" was forgotten, so it starts with a full bucket
