-- Shared by every scenario: requests carry the bearer token from KMS_TOKEN, and done() appends
-- one JSON line of results to $WRK_OUT, labelled $WRK_LABEL (run.sh reads them).
-- Items per request come from $WRK_ITEMS (a batch of 100 counts 100 operations per request).
local token = os.getenv("KMS_TOKEN") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

-- 64 bytes, base64.
PLAINTEXT = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQg=="
KEY = os.getenv("KMS_KEY") or "loadtest"

function done(summary, latency, requests)
  local out = os.getenv("WRK_OUT")
  local line = string.format(
    '{"label":"%s","round":%s,"requests":%d,"seconds":%.3f,"items":%s,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non_2xx":%d,"socket_errors":%d}\n',
    os.getenv("WRK_LABEL") or "?", os.getenv("WRK_ROUND") or "0",
    summary.requests, summary.duration / 1e6, os.getenv("WRK_ITEMS") or "1",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout)
  if out then
    local f = assert(io.open(out, "a"))
    f:write(line)
    f:close()
  end
  io.write(line)
end
