-- Signed GitHub-style requests with a unique X-GitHub-Delivery per request. The HMAC covers
-- the body only, so one precomputed signature serves every request (as with real GitHub
-- redeliveries of one payload); the delivery id, the dedup key, never repeats.
local body = os.getenv("BENCH_BODY")
local signature = os.getenv("BENCH_SIGNATURE")
local path = os.getenv("BENCH_PATH")
local counter = 0
prefix = "" -- global: thread:set() below writes each thread's own copy

local thread_count = 0

-- BENCH_RUN is unique per wrk run (wrk's Lua RNG is not reseeded between runs, so it
-- cannot be the source of uniqueness); the thread number keeps threads apart.
function setup(thread)
  thread_count = thread_count + 1
  thread:set("prefix", os.getenv("BENCH_RUN") .. "-" .. thread_count)
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
