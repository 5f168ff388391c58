-- wrk script of the autoscaling end-to-end test (tests/autoscale/): every connection waits
-- WRK_DELAY_MS between its requests, so wrk holds many connections open at a modest request
-- rate (the load is connections, not CPU); done() prints the counts as one JSON line.
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "100") or 100

function delay()
  return delay_ms
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
