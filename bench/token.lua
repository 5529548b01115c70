-- wrk script of bench/token.py: one request shape, optionally a fresh body per request.
--
--   wrk ... -s bench/token.lua URL -- METHOD PATH BODIES THREADS [HEADER: value ...]
--
-- BODIES is a file with one request body a line, or "-" for none. A client
-- assertion is good for one request only (its jti is spent), so each wrk
-- thread sends its own share of the lines (line i goes to thread i mod
-- THREADS) and never a line another thread sends. A thread that runs out
-- starts its share again: those requests are replays, refused, and counted
-- as errors. done() prints one JSON line that bench/token.py reads.

local threads_made = 0

function setup(thread)
   thread:set("id", threads_made)
   threads_made = threads_made + 1
end

function init(args)
   method, path = args[1], args[2]
   local threads = tonumber(args[4])
   headers = {}
   for i = 5, #args do
      local name, value = args[i]:match("^([^:]+):%s*(.*)$")
      headers[name] = value
   end
   bodies, count, sent = {}, 0, 0
   if args[3] ~= "-" then
      local line_number = 0
      for line in io.lines(args[3]) do
         if line_number % threads == id then
            count = count + 1
            bodies[count] = line
         end
         line_number = line_number + 1
      end
   end
   if count == 0 then
      fixed = wrk.format(method, path, headers)
   end
end

function request()
   if count == 0 then
      return fixed
   end
   sent = sent % count + 1
   return wrk.format(method, path, headers, bodies[sent])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
         .. '"status_errors": %d, "other_errors": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.status, e.connect + e.read + e.write + e.timeout))
end
