-- Argo CD health of a rolecall.dev AppAccount: its lifecycle state. An
-- invitation that could not be sent is Degraded (lastError says why); an
-- invitation on its way, a removal in its grace period, or a call to the app
-- not confirmed yet is Progressing. Argo CD opens only Lua's base and table
-- libraries here.
local s = obj.status
if s == nil or s.state == nil then
  return { status = "Progressing", message = "Waiting for the operator to plan the account" }
end
if s.state == "InviteFailed" then
  return { status = "Degraded", message = "InviteFailed: " .. (s.lastError or "") }
end
if s.operation ~= nil then
  return { status = "Progressing", message = "A call to the app is in flight" }
end
if s.state == "PendingInvite" or s.state == "InviteSent" or s.state == "InviteExpired" or s.state == "Removing" then
  return { status = "Progressing", message = s.state .. ": " .. (s.note or "") }
end
return { status = "Healthy", message = s.state }
