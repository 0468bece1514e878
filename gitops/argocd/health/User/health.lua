-- Argo CD health of a rolecall.dev User (written by the SCIM sidecar): its
-- Seated condition says whether it holds a seat in a hub, and if not, why.
-- A user with no grant, deactivated, or waiting to claim access is as it
-- should be; one nobody can invite is not. Argo CD opens only Lua's base and
-- table libraries here.
if obj.status == nil or obj.status.conditions == nil then
  return { status = "Progressing", message = "Waiting for the operator to report the user's seats" }
end
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Seated" then
    local message = c.reason .. ": " .. (c.message or "")
    if c.status == "True" then
      return { status = "Healthy", message = message }
    end
    if c.reason == "InviteFailed" or c.reason == "NoInvitableEmail" then
      return { status = "Degraded", message = message }
    end
    if c.reason == "Pending" then
      return { status = "Progressing", message = message }
    end
    return { status = "Healthy", message = message }
  end
end
return { status = "Progressing", message = "Waiting for the operator to report the user's seats" }
