-- wrk script: open cases through pomogu's REST API (POST /api/v1/cases), the counterpart of
-- ../shared/bench-peer/post_ticket.lua: the same words, the same body shape, the same five
-- queues (here teams, by slug), the same 5,000 customer addresses and the same two limits
-- (every wrk thread stops after POMOGU_MAX_PER_THREAD responses, and wrk's own -d).
-- POMOGU_AUTH is the full Authorization header value ("Bearer <token>").
local auth = os.getenv("POMOGU_AUTH")
local maxreq = tonumber(os.getenv("POMOGU_MAX_PER_THREAD") or "500")
local teams = {"support", "billing", "shipping", "returns", "tech"}
local priorities = {"low", "normal", "normal", "high", "urgent"}
local threads = {}
local tid = 0

function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  done_count = 0
  ok = 0
  bad = 0
  math.randomseed(tid * 7919)
end

local words = {"order", "refund", "delivery", "invoice", "password", "login", "broken",
  "late", "damaged", "account", "subscription", "cancel", "upgrade", "error", "payment"}

function request()
  n = n + 1
  local w1 = words[math.random(#words)]
  local w2 = words[math.random(#words)]
  local body = string.format(
    '{"team": "%s", "subject": "Problem with %s and %s (%d-%d)", ' ..
    '"body": "Hello, I have a problem with my %s. The %s is not working since yesterday. ' ..
    'Order number %d. Please help.", "customer": {"email": "customer%d@example.test"}, ' ..
    '"priority": "%s"}',
    teams[math.random(#teams)], w1, w2, tid, n, w1, w2, math.random(100000, 999999),
    math.random(5000), priorities[math.random(#priorities)])
  return wrk.format("POST", "/api/v1/cases", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = auth,
  }, body)
end

function response(status, headers, body)
  done_count = done_count + 1
  if status == 201 then ok = ok + 1 else bad = bad + 1 end
  if done_count >= maxreq then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local tok, tbad = 0, 0
  for _, t in ipairs(threads) do
    tok = tok + (t:get("ok") or 0)
    tbad = tbad + (t:get("bad") or 0)
  end
  io.write(string.format("LUA_SUMMARY created_201=%d other_status=%d requests=%d duration_s=%.3f rps=%.1f\n",
    tok, tbad, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6)))
  io.write(string.format("LUA_LATENCY_MS p50=%.1f p90=%.1f p99=%.1f max=%.1f mean=%.1f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
