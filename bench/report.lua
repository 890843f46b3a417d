-- report.lua — prints wrk's summary as one machine-readable line for bench/run.sh:
-- WRKRESULT requests bytes duration_us connect read write status timeout
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("WRKRESULT %d %d %d %d %d %d %d %d\n",
      summary.requests, summary.bytes, summary.duration,
      e.connect, e.read, e.write, e.status, e.timeout))
end
