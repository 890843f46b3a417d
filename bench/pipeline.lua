-- pipeline.lua — wrk's pipeline example: each write carries DEPTH requests
-- (`wrk ... -s pipeline.lua -- 16`); wrk counts every response.
-- done() prints the summary line bench/run.sh reads (as report.lua does).
init = function(args)
   local depth = tonumber(args[1]) or 1
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format()
   end
   req = table.concat(r)
end

request = function()
   return req
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("WRKRESULT %d %d %d %d %d %d %d %d\n",
      summary.requests, summary.bytes, summary.duration,
      e.connect, e.read, e.write, e.status, e.timeout))
end
