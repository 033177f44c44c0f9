-- Replays a file of prepared requests, one per line:
--   METHOD <TAB> PATH <TAB> HEADER <TAB> BODY     (HEADER is "Name: value"; BODY may be empty)
-- Thread k of n takes lines k, k+n, k+2n..., so no request is sent twice before the file
-- runs out (one-shot requests such as deletes need that); after that it starts over.
-- Prints a JSON summary on stdout at the end, with the count of 5xx and 4xx answers (wrk's own
-- "status" error lumps every status above 399 together).
--   wrk -t THREADS -s requests.lua URL -- FILE THREADS

local next_offset = 0
local threads = {}

function setup(thread)
  thread:set("offset", next_offset)
  next_offset = next_offset + 1
  table.insert(threads, thread)
end

-- Per thread (each runs its own Lua state); summed in done().
status_5xx = 0
status_4xx = 0

function response(status, headers, body)
  if status >= 500 then
    status_5xx = status_5xx + 1
  elseif status >= 400 then
    status_4xx = status_4xx + 1
  end
end

local requests = {}
local position = 1

function init(args)
  local file = args[1]
  local threads = tonumber(args[2])
  local offset = tonumber(wrk.thread:get("offset"))
  local index = 0
  for line in io.lines(file) do
    if index % threads == offset then
      local method, path, header, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      local name, value = header:match("^([^:]+):%s*(.*)$")
      if name then headers[name] = value end
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      table.insert(requests, wrk.format(method, path, headers, body))
    end
    index = index + 1
  end
end

function request()
  local prepared = requests[position]
  position = position % #requests + 1
  return prepared
end

function done(summary, latency, requests)
  local e = summary.errors
  local s5, s4 = 0, 0
  for _, thread in ipairs(threads) do
    s5 = s5 + thread:get("status_5xx")
    s4 = s4 + thread:get("status_4xx")
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "status_5xx": %d, "status_4xx": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, s5, s4,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max))
end
