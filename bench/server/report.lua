-- wrk summary in one machine-readable line: requests/s, p50 and p99 latency (ms), and every
-- kind of error (a non-2xx answer counts as one, so a lost session cannot pass as speed).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
