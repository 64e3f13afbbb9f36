-- GET consistency proofs from random sizes to $SIZE.
local size = tonumber(os.getenv("SIZE"))
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
math.randomseed(os.time())
request = function()
  local from = math.random(1, size)
  return wrk.format("GET", "/v1/audit/proofs/consistency?from=" .. from .. "&to=" .. size)
end
