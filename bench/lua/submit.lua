-- POST results for distinct READY activities: wrk -s submit.lua URL -- KEY IDS_FILE
-- IDS_FILE holds one "activity_id,commerce_external_id" per line; each request takes the next.
local key
local rows = {}
local i = 0
function init(args)
  key = args[1]
  for line in io.lines(args[2]) do
    rows[#rows + 1] = line
  end
end
function request()
  i = i + 1
  local id, commerce = rows[(i - 1) % #rows + 1]:match("([^,]+),([^,]+)")
  local body = string.format(
    '{"activity_id":"%s","commerce_external_id":"%s","occurred_at":"2026-01-01T00:00:00Z",'
      .. '"status":"EFFECTIVE","task_result":{"result":"SALE_COMPLETED"}}',
    id,
    commerce
  )
  return wrk.format(
    "POST",
    "/api/integration/activity-results/tasks",
    {["x-api-key"] = key, ["content-type"] = "application/json"},
    body
  )
end
