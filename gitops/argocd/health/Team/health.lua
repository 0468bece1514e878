-- Argo CD health of a rolecall.dev Team (written by the SCIM sidecar): a team
-- has no conditions; it is Healthy once the operator has counted its members
-- for its current spec. Argo CD opens only Lua's base and table libraries here.
if obj.status == nil then
  return { status = "Progressing", message = "Waiting for the operator to count the team's members" }
end
if obj.metadata.generation ~= nil and (obj.status.observedGeneration == nil
    or obj.status.observedGeneration < obj.metadata.generation) then
  return { status = "Progressing", message = "Waiting for the operator to act on the latest spec" }
end
return { status = "Healthy", message = (obj.status.memberCount or 0) .. " members" }
