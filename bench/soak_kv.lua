-- soak_kv.lua — wrk script for `make soak` (bench/soak.sh) against the kv machine: 40%
-- `PUT /kv/load:N`, 60% `GET /kv/load:N`, N over 5,000 keys (which bench/soak.sh writes
-- before the load starts: a GET never meets a 404, and the store starts at its full size),
-- 100-byte values, each connection pausing SOAK_KV_DELAY_MS (default 10) between requests.
-- Prints one line at the end (latencies in microseconds):
-- SOAKRESULT requests duration_us connect read write status timeout p50 p99 max
local delay_ms = tonumber(os.getenv("SOAK_KV_DELAY_MS") or "10")
local body = string.rep("v", 100)
local host = { Host = "localhost" }

init = function(args)
   math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

request = function()
   if math.random() < 0.4 then
      return wrk.format("PUT", string.format("/kv/load:%d", math.random(0, 4999)), host, body)
   end
   return wrk.format("GET", string.format("/kv/load:%d", math.random(0, 4999)), host)
end

delay = function()
   return delay_ms
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("SOAKRESULT %d %d %d %d %d %d %d %d %d %d\n",
      summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
end
