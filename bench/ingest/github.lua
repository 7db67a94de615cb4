-- Signed GitHub-style requests with a unique X-GitHub-Delivery per request. The HMAC covers
-- the body only, so one precomputed signature serves every request (as with real GitHub
-- redeliveries of one payload); the delivery id, the dedup key, never repeats.
local body = os.getenv("BENCH_BODY")
local signature = os.getenv("BENCH_SIGNATURE")
local path = os.getenv("BENCH_PATH")
local counter = 0
local prefix = ""

function setup(thread)
  thread:set("prefix", tostring(math.random(1, 1e9)) .. "-" .. tostring(os.time()))
end

function init(args)
  prefix = prefix .. "-" .. tostring(math.random(1, 1e9))
end

function request()
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "issues",
    ["X-GitHub-Delivery"] = prefix .. "-" .. counter,
    ["X-Hub-Signature-256"] = signature,
    ["User-Agent"] = "GitHub-Hookshot/bench",
  }, body)
end
