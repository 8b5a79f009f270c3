-- Argo CD health check for fulfillment.dev/IntentRoute (conditions Accepted and ResolvedRefs).
-- Only the base and table libraries are used: Argo CD does not open the string library for health scripts.
local hs = {}

local function findCondition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  local reason = c.reason
  if reason == nil or reason == "" then
    reason = fallback
  end
  if c.message ~= nil and c.message ~= "" then
    return reason .. ": " .. c.message
  end
  return reason
end

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end

local generation = obj.metadata.generation
if obj.status == nil or obj.status.observedGeneration == nil or
    (generation ~= nil and obj.status.observedGeneration ~= generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local accepted = findCondition(obj.status.conditions, "Accepted")
if accepted == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Accepted condition"
  return hs
end
if accepted.status ~= "True" then
  hs.status = "Degraded"
  hs.message = describe(accepted, "Rejected")
  return hs
end

local refs = findCondition(obj.status.conditions, "ResolvedRefs")
if refs ~= nil and refs.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(refs, "ResolvedRefs")
  return hs
end

hs.status = "Healthy"
if accepted.message ~= nil and accepted.message ~= "" then
  hs.message = accepted.message
else
  hs.message = "Accepted"
end
return hs
