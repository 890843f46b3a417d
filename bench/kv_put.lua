-- kv_put.lua — wrk script for bench/kv.sh: every request is `PUT /kv/key:NNNNNNNNNNNN`
-- with a 100-byte body, the key taken from a counter over 100,000 keys (the same key
-- space and value size as `redis-benchmark -t set -r 100000 -d 100`). Prints wrk's
-- summary as one line, as bench/report.lua does:
-- WRKRESULT requests bytes duration_us connect read write status timeout
local n = 0
local body = string.rep("x", 100)

request = function()
   n = n + 1
   return wrk.format("PUT", string.format("/kv/key:%012d", n % 100000), nil, body)
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("WRKRESULT %d %d %d %d %d %d %d %d\n",
      summary.requests, summary.bytes, summary.duration,
      e.connect, e.read, e.write, e.status, e.timeout))
end
