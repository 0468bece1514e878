-- Argo CD health of a rolecall.dev Partner: Ready says whether its declaration
-- can be planned (the hub has partners, every asset exists); Synced whether the
-- partner holds what is declared (DryRun: what would change); RemovalsHeld
-- whether revocations wait for the hub's removal window.
-- Argo CD opens only Lua's base and table libraries here.
if obj.status == nil or obj.status.conditions == nil then
  return { status = "Progressing", message = "Waiting for the hub's next read-back of its partners" }
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  return { status = "Progressing", message = "Waiting for the operator to act on the latest spec" }
end
local ready, synced, held
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "Synced" then synced = c end
  if c.type == "RemovalsHeld" then held = c end
end
if ready ~= nil and ready.status == "False" then
  return { status = "Degraded", message = ready.reason .. ": " .. (ready.message or "") }
end
if held ~= nil and held.status == "True" then
  return { status = "Suspended", message = held.reason .. ": " .. (held.message or "") }
end
if synced ~= nil then
  if synced.status == "True" then
    return { status = "Healthy", message = synced.message or "" }
  end
  if synced.reason == "DryRun" then
    return { status = "Suspended", message = synced.message or "" }
  end
  return { status = "Degraded", message = synced.reason .. ": " .. (synced.message or "") }
end
return { status = "Progressing", message = "Waiting for the hub's next read-back of its partners" }
