-- A wrk script for hack/bench/compare.sh: POSTs the JSON body of a file in which each "{{id}}" is replaced by an
-- id no other request of the run has (the run's tag, wrk's thread, a counter), as Dialogflow sends a new
-- responseId with every request, so that a server deduplicating by it stores every answer instead of replaying
-- one. At the end, writes the results as hack/loadtest's -json-file does (throughput, errors, latencyMs), so
-- that one reader serves both load generators.
--
--   WRK_BODY=body.json WRK_RESULT=result.json WRK_TAG=run-1 wrk -s responseid.lua URL
-- The body is sent with Content-Type: application/json; other headers (Authorization) come from wrk -H. The
-- settings are environment variables, not script arguments, because done() runs in wrk's main Lua state,
-- which never sees the arguments.
--
-- With WRK_TARGETS=targets.txt (hack/loadtest's -targets file: "PATH AUTHORIZATION" lines), each request goes
-- to a path of the file taken at random, with that line's Authorization header: many bots on one server
-- (hack/bench/gateway.sh). The URL's path is then not used.

local next_thread = 1

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end

local prefix, suffix, tag
local sent = 0
-- targets are the lines of WRK_TARGETS, each with the headers its requests carry; nil without it.
local targets

local function read_targets(name)
  local list = {}
  for line in io.lines(name) do
    local path, authorization = line:match("^(/%S*)%s*(.-)%s*$")
    if path then
      local headers = {}
      for k, v in pairs(wrk.headers) do headers[k] = v end
      if authorization ~= "" then headers["Authorization"] = authorization end
      list[#list + 1] = { path = path, headers = headers }
    elseif line:match("%S") and not line:match("^%s*#") then
      error(name .. ": want PATH AUTHORIZATION lines, got " .. line)
    end
  end
  assert(#list > 0, name .. " lists no target")
  return list
end

function init()
  local name = assert(os.getenv("WRK_BODY"), "WRK_BODY is not set")
  local file = assert(io.open(name, "rb"))
  local body = file:read("*a")
  file:close()
  local at = body:find("{{id}}", 1, true)
  assert(at, name .. " has no {{id}}")
  prefix, suffix = body:sub(1, at - 1), body:sub(at + #"{{id}}")
  tag = assert(os.getenv("WRK_TAG"), "WRK_TAG is not set") .. "-" .. thread_number .. "-"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local targets_file = os.getenv("WRK_TARGETS")
  if targets_file and targets_file ~= "" then
    targets = read_targets(targets_file)
    math.randomseed(os.time() * 1000 + thread_number)
  end
end

function request()
  sent = sent + 1
  local body = prefix .. tag .. sent .. suffix
  if targets then
    local t = targets[math.random(#targets)]
    return wrk.format(nil, t.path, t.headers, body)
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  local ms = function(us) return string.format("%.3f", us / 1000) end
  local out = assert(io.open(assert(os.getenv("WRK_RESULT"), "WRK_RESULT is not set"), "w"))
  out:write("{\n")
  out:write(string.format('  "requests": %d,\n', summary.requests))
  out:write(string.format('  "throughput": %.1f,\n', summary.requests / (summary.duration / 1e6)))
  out:write(string.format('  "errors": %d,\n', errors))
  out:write('  "latencyMs": {\n')
  out:write(string.format('    "p50": %s,\n', ms(latency:percentile(50))))
  out:write(string.format('    "p99": %s,\n', ms(latency:percentile(99))))
  out:write(string.format('    "max": %s\n', ms(latency.max)))
  out:write("  }\n}\n")
  out:close()
end
