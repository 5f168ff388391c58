-- wrk script of the Switchyard benchmark (tests/bench/main.ts).
-- BENCH_METHOD and BENCH_BODY_BYTES (environment) set the request; done() prints
-- every figure the harness needs as one JSON line starting with "WRK_JSON ".

local method = os.getenv("BENCH_METHOD")
if method ~= nil and method ~= "" then wrk.method = method end
local body_bytes = tonumber(os.getenv("BENCH_BODY_BYTES") or "0") or 0
if body_bytes > 0 then
  wrk.body = string.rep("x", body_bytes)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function done(summary, latency, requests)
  local e = summary.errors
  local qs = { "50", "75", "90", "99", "99.9", "99.99" }
  local parts = {}
  for i, q in ipairs(qs) do
    parts[i] = string.format('"%s":%d', q, latency:percentile(tonumber(q)))
  end
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"max":%d,"mean":%.3f,"stdev":%.3f,"percentiles":{%s}}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev, table.concat(parts, ",")))
end
