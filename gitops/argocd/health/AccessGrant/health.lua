-- Argo CD health of a rolecall.dev AccessGrant: its Accepted condition says
-- whether its subject (a User or Team) and its hub or collection resolve.
-- Argo CD opens only Lua's base and table libraries here.
if obj.status == nil or obj.status.conditions == nil then
  return { status = "Progressing", message = "Waiting for the operator to check the grant" }
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  return { status = "Progressing", message = "Waiting for the operator to act on the latest spec" }
end
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Accepted" then
    if c.status == "True" then
      return { status = "Healthy", message = c.message or "" }
    end
    if c.status == "False" then
      return { status = "Degraded", message = c.reason .. ": " .. (c.message or "") }
    end
  end
end
return { status = "Progressing", message = "Waiting for the operator to check the grant" }
