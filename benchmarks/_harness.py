"""What the benchmark scripts share: timing a call for a budget of seconds."""
import statistics
import time


def time_calls(fn, budget, warmup=3, min_calls=5, max_calls=100_000):
    """Call ``fn`` ``warmup`` times untimed (compilation, caches), then time single calls for
    ~``budget`` seconds (at least ``min_calls``).  Returns (median, min, number of calls)."""
    for _ in range(warmup):
        fn()
    ts = []
    end = time.perf_counter() + budget
    while len(ts) < min_calls or (time.perf_counter() < end and len(ts) < max_calls):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), min(ts), len(ts)
