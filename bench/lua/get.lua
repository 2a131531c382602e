-- GET one path with the bench key: wrk -s get.lua URL -- KEY PATH
local key, path
function init(args)
  key = args[1]
  path = args[2]
end
function request()
  return wrk.format("GET", path, {["x-api-key"] = key})
end
