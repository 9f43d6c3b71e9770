-- wrk script for bench/ingest.py: pre-signed webhooks, sent in turn, answers counted by status.
-- Each line of FILE is "signature<TAB>body" (every body different, signed by the bench).
-- Usage: wrk ... -s bench/wrk_hooks.lua URL -- FILE PATH [FIRST] (FIRST: 0-based body to start at)
local reqs = {}
local n = 0
local idx = 0
counts = {}

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    n = n + 1
    reqs[n] = wrk.format("POST", args[2],
      {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = line:sub(1, tab - 1)},
      line:sub(tab + 1))
  end
  idx = (tonumber(args[3]) or 0) % n
end

function request()
  idx = idx % n + 1
  return reqs[idx]
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("counts")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("BENCH status %d %d\n", status, count))
  end
  local e = summary.errors
  io.write(string.format("BENCH requests %d\n", summary.requests))
  io.write(string.format("BENCH duration_us %d\n", summary.duration))
  io.write(string.format("BENCH errors %d\n", e.connect + e.read + e.write + e.timeout))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("BENCH latency_us %g %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("BENCH latency_us 100 %d\n", latency.max))
end
