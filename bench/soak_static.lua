-- soak_static.lua — wrk script for `make soak` (bench/soak.sh) against the static server:
-- a fixed mix of requests over the site bench/soak.sh generates, each connection pausing
-- SOAK_DELAY_MS (default 5) between its requests so the load stays moderate (wrk times a
-- request from its send, not from the pause). The mix, per request:
--   60%  a small file: /small.html or one of /s/00.html .. /s/39.html
--   10%  a directory's index (/, /dir/, /dir/sub/) or /dir (a 301 to /dir/)
--    5%  /64k.bin whole
--   15%  one range of a big file (256k, 1m, 10m): bytes=A-B (up to 64 KiB), bytes=-N or bytes=A-
--    7%  two to four ranges of a big file (multipart/byteranges)
--    3%  a conditional GET answered 304 (If-Modified-Since in the future)
-- Prints one line at the end (latencies in microseconds):
-- SOAKRESULT requests duration_us connect read write status timeout p50 p99 max
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "5")
local big = { { "/256k.bin", 262144 }, { "/1m.bin", 1048576 }, { "/10m.bin", 10485760 } }
local dirs = { "/", "/dir/", "/dir/sub/", "/dir" }
local host = { Host = "localhost" }

init = function(args)
   math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

local function span(size)
   local len = math.random(1, 65536)
   local a = math.random(0, size - len)
   return a, a + len - 1
end

local function range_req()
   local f = big[math.random(#big)]
   local r = math.random()
   local spec
   if r < 0.7 then
      local a, b = span(f[2])
      spec = string.format("bytes=%d-%d", a, b)
   elseif r < 0.85 then
      spec = string.format("bytes=-%d", math.random(1, 65536))
   else
      spec = string.format("bytes=%d-", f[2] - math.random(1, 65536))
   end
   return wrk.format("GET", f[1], { Host = "localhost", Range = spec })
end

local function multi_req()
   local f = big[math.random(#big)]
   local n = math.random(2, 4)
   local part = math.floor(f[2] / n)
   local specs = {}
   for i = 1, n do -- one range inside each n-th of the file: disjoint, in order
      local len = math.random(1, 16384)
      local a = (i - 1) * part + math.random(0, part - len)
      specs[i] = string.format("%d-%d", a, a + len - 1)
   end
   local spec = "bytes=" .. table.concat(specs, ",")
   return wrk.format("GET", f[1], { Host = "localhost", Range = spec })
end

request = function()
   local r = math.random()
   if r < 0.60 then
      local i = math.random(0, 40)
      local path = i == 40 and "/small.html" or string.format("/s/%02d.html", i)
      return wrk.format("GET", path, host)
   elseif r < 0.70 then
      return wrk.format("GET", dirs[math.random(#dirs)], host)
   elseif r < 0.75 then
      return wrk.format("GET", "/64k.bin", host)
   elseif r < 0.90 then
      return range_req()
   elseif r < 0.97 then
      return multi_req()
   end
   return wrk.format("GET", "/small.html",
      { Host = "localhost", ["If-Modified-Since"] = "Fri, 01 Jan 2100 00:00:00 GMT" })
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
