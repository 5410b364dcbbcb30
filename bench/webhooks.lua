-- wrk script: POST precomputed, correctly signed webhooks, each once.
-- Arguments (after --): <file> <path> <threads> [cycle]. Each line of <file> is
-- "<Signature header>\t<body>"; thread i sends lines i, i+threads, i+2*threads, ...
-- so no two requests carry the same transaction. A thread that runs out of lines
-- stops (wrk's own duration is the other bound) and `wrapped` counts it, unless
-- "cycle" is given (the baseline, for which repeats cost the same): it starts again.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, path, nthreads = args[1], args[2], tonumber(args[3])
  cycle = args[4] == "cycle"
  prepared = {}
  local index = 0
  for line in io.lines(file) do
    if index % nthreads == id then
      local signature, body = line:match("^([^\t]*)\t(.*)$")
      local headers = { ["Content-Type"] = "application/json", ["Signature"] = signature }
      prepared[#prepared + 1] = wrk.format("POST", path, headers, body)
    end
    index = index + 1
  end
  position = 0
  wrapped = 0
end

function request()
  position = position + 1
  if position > #prepared then
    -- Out of distinct webhooks: stop this thread rather than send duplicates.
    wrapped = 1
    position = 1
    if not cycle then
      wrk.thread:stop()
    end
  end
  return prepared[position]
end

function done(summary, latency, requests)
  -- Threads that ran out of distinct webhooks (their requests/s is then understated).
  local wrapped_threads = 0
  for _, thread in ipairs(threads) do
    wrapped_threads = wrapped_threads + (thread:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"status_errors": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout, wrapped_threads))
end
