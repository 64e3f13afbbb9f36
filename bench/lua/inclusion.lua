-- GET inclusion proofs of random leaves in a tree of $SIZE entries.
local size = tonumber(os.getenv("SIZE"))
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
math.randomseed(os.time())
request = function()
  local seq = math.random(0, size - 1)
  return wrk.format("GET", "/v1/audit/proofs/inclusion?seq=" .. seq .. "&tree_size=" .. size)
end
