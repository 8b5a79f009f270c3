-- Argo CD health check for fulfillment.dev/WebhookGateway (kstatus conditions Ready, Reconciling, Stalled), the same as a WebhookEndpoint's.
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
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
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
  -- The operator holds observedGeneration until a generation is fully applied; a Reconciling condition computed
  -- for this generation says what it waits for (a missing Secret, a refused apply).
  if obj.status ~= nil then
    local waiting = findCondition(obj.status.conditions, "Reconciling")
    if waiting ~= nil and waiting.status == "True" and waiting.observedGeneration == generation then
      hs.message = describe(waiting, hs.message)
    end
  end
  return hs
end

local conditions = obj.status.conditions
local stalled = findCondition(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

local ready = findCondition(conditions, "Ready")
-- A suspended or scaled-to-zero endpoint has no Ready condition (so that kstatus reads it as Current, not as
-- in progress forever); DeploymentAvailable says why no pod serves.
local available = findCondition(conditions, "DeploymentAvailable")
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  if available ~= nil then
    hs.message = describe(available, "spec.suspend is true")
  else
    hs.message = "spec.suspend is true"
  end
  return hs
end

local reconciling = findCondition(conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

if ready == nil then
  if available ~= nil and (available.reason == "ScaledToZero" or available.reason == "Suspended") then
    hs.status = "Suspended"
    hs.message = describe(available, "Scaled to zero")
    return hs
  end
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

-- Ready=False with neither Reconciling nor Stalled: not decided yet (what only the user can fix is Stalled).
hs.status = "Progressing"
hs.message = describe(ready, "Not ready")
return hs
