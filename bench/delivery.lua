-- wrk script for the delivery baseline: the same POST a worker sends (a signed event
-- document of the same size), with a distinct webhook-id each time.
-- Argument (after --): a file holding one event body.

local counter = 0

function init(args)
  local file = io.open(args[1], "rb")
  body = file:read("*a")
  file:close()
  prefix = tostring(math.random(1, 1000000000))
end

function request()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["webhook-id"] = prefix .. "-" .. counter,
    ["webhook-timestamp"] = "1795000000",
    ["webhook-signature"] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ["X-Signature"] = "0000000000000000000000000000000000000000000000000000000000000000",
  }
  return wrk.format("POST", "/hook", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"status_errors": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "wrapped": 0}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
