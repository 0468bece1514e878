-- Argo CD health of a rolecall.dev BusinessHub, from the conditions the
-- operator writes: Ready (credentials and settings), Connected (the last
-- read-back of the app), RemovalsHeld (the removal limit) and Synced (the app
-- matches the grants). Argo CD opens only Lua's base and table libraries here.
local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function say(c)
  return c.reason .. ": " .. (c.message or "")
end

if obj.status == nil then
  return { status = "Progressing", message = "Waiting for the operator to report on this hub" }
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  return { status = "Progressing", message = "Waiting for the operator to act on the latest spec" }
end

local ready = condition("Ready")
if ready == nil then
  return { status = "Progressing", message = "Waiting for the operator to check the hub's credentials" }
end
if ready.status == "False" then
  return { status = "Degraded", message = say(ready) }
end

local connected = condition("Connected")
if connected ~= nil and connected.status == "False" then
  -- The operator retries these by itself; the others need a person.
  if connected.reason == "RateLimited" or connected.reason == "Transient" or connected.reason == "BackingOff" then
    return { status = "Progressing", message = say(connected) }
  end
  return { status = "Degraded", message = say(connected) }
end

-- Removals over the hub's limit wait for an admin's approval annotation.
local held = condition("RemovalsHeld")
if held ~= nil and held.status == "True" then
  return { status = "Suspended", message = say(held) }
end

local synced = condition("Synced")
if connected == nil or synced == nil then
  return { status = "Progressing", message = "Waiting for the first read-back of the app" }
end
-- DryRun reports what it would change; that is its job, not a fault.
if synced.status == "False" and synced.reason ~= "DryRun" then
  return { status = "Degraded", message = say(synced) }
end
return { status = "Healthy", message = synced.message or "" }
