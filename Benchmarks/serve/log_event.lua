-- wrk script: POSTs pre-built gzip log_event bodies (100 events each) to sluice serve, rotating through them.
-- Usage: wrk -s log_event.lua URL -- BODY_DIR COUNT [ENCODING]
local bodies = {}
local index = 0
local encoding = "gzip"

function init(args)
  local dir, count = args[1], tonumber(args[2])
  encoding = args[3] or "gzip"
  for n = 0, count - 1 do
    local f = assert(io.open(dir .. "/body-" .. n, "rb"))
    bodies[#bodies + 1] = f:read("*all")
    f:close()
  end
end

function request()
  index = index % #bodies + 1
  local headers = {["STATSIG-API-KEY"] = "secret-bench", ["Content-Type"] = "application/json",
                   ["STATSIG-CLIENT-TIME"] = tostring(os.time() * 1000)}
  if encoding == "gzip" then headers["Content-Encoding"] = "gzip" end
  return wrk.format("POST", "/v1/log_event", headers, bodies[index])
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("non-200 answer: " .. status .. " " .. body .. "\n")
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("requests %d, errors %d (non-2xx %d), %.0f requests/s\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests / seconds))
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
