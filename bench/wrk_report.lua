-- wrk script for the crisismap read benchmark.
-- WRK_PATHS=file: one request path per line, cycled by every thread from its own deterministic offset.
-- At the end prints one machine-readable line: WRKJSON {...} (requests, bytes, errors, latency percentiles).
-- errors.status is wrk's count of responses with status >= 400 (run.sh checks every target for a plain
-- 200 with curl before loading it).
local pf = os.getenv("WRK_PATHS")
local tcount = 0
function setup(thread) thread:set("tid", tcount); tcount = tcount + 1 end
if pf and pf ~= "" then
  local paths = {}
  for line in io.lines(pf) do if #line > 0 then paths[#paths + 1] = line end end
  assert(#paths > 0, "empty WRK_PATHS file " .. pf)
  local i = 0
  request = function()
    if i == 0 then i = ((tid or 0) * 7919) % #paths end
    i = i % #paths + 1
    return wrk.format(nil, paths[i])
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,' ..
    '"lat_p99_us":%d,"lat_max_us":%d}\n', summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
