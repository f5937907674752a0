"""Lua scripts of the Redis store's hot path: pop, heartbeat, ack, requeue,
fetch; plus the small atomic helpers for nodes, nonces and counters. The
key layout and record formats are described in redis_scripts."""

POP = r"""
-- ARGV: P, node, now, max, job_id ('' = any), stride, napps, apps..., lease ids...
local node, now, max, only = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local stride, napps = tonumber(ARGV[6]), tonumber(ARGV[7])
local apps = {}
for i = 1, napps do apps[i] = ARGV[7 + i] end
local lease_arg = 8 + napps
local info = {}         -- job id -> {app, lease seconds, prio, pass}
local tasks, jobs = {}, {}

local function job_info(J)
  local i = info[J]
  if not i then
    local f = redis.call('HMGET', jk(J, 'job'), 'app', 'lease', 'prio', 'pass', 'state', 'held')
    i = {app = f[1], lease = tonumber(f[2]), prio = tonumber(f[3]),
         pass = tonumber(f[4] or '0'), ok = (f[5] == 'running' and not f[6])}
    info[J] = i
    local files = redis.call('HGETALL', jk(J, 'files'))
    local entry = {J, f[1] or ''}
    for k = 1, #files do entry[#entry + 1] = files[k] end
    jobs[#jobs + 1] = entry
  end
  return i
end

local function lease_one(J, i, slot)
  local lease_id = ARGV[lease_arg + #tasks]
  local rec = redis.call('HGET', jk(J, 's'), slot)
  local att = 1
  if rec then att = tonumber(split(rec)[2]) + 1 end
  local exp = now + i.lease
  local exps = string.format('%.6f', exp)
  redis.call('HSET', jk(J, 's'), slot, 'L|' .. att .. '|' .. lease_id .. '|' .. exps .. '|' .. node)
  redis.call('HINCRBY', jk(J, 'job'), 'q', -1)
  redis.call('HINCRBY', jk(J, 'job'), 'l', 1)
  redis.call('ZADD', LEASES, exps, J .. '|' .. slot)
  redis.call('HINCRBY', NODELEASES, node, 1)
  tasks[#tasks + 1] = {J, slot, redis.call('HGET', jk(J, 'in'), slot), lease_id, exps, tostring(att)}
  i.pass = i.pass + stride / i.prio
end

if only ~= '' then
  local i = job_info(only)
  local wanted = napps == 0
  for k = 1, napps do if apps[k] == i.app then wanted = true end end
  if i.ok and wanted then
    local rk = ready_key(i.app)
    while #tasks < max do
      local slot = redis.call('LPOP', jk(only, 'q'))
      if not slot then break end
      lease_one(only, i, slot)
    end
    redis.call('HSET', jk(only, 'job'), 'pass', string.format('%.6f', i.pass))
    if redis.call('LLEN', jk(only, 'q')) > 0 then
      redis.call('ZADD', rk, 'XX', i.pass, only)
    else
      unready(only, i.app)
    end
  end
  return {tasks, jobs}
end

if napps == 0 then apps = redis.call('SMEMBERS', READYAPPS) end
local guard = 0
while #tasks < max and guard < 4 * max + 16 do
  guard = guard + 1
  local bestJ, bestApp, bestScore = nil, nil, nil
  for k = 1, #apps do
    local head = redis.call('ZRANGE', ready_key(apps[k]), 0, 0, 'WITHSCORES')
    if #head > 0 and (not bestScore or tonumber(head[2]) < bestScore) then
      bestJ, bestApp, bestScore = head[1], apps[k], tonumber(head[2])
    end
  end
  if not bestJ then break end
  local slot = redis.call('LPOP', jk(bestJ, 'q'))
  if slot then
    local i = job_info(bestJ)
    i.pass = bestScore
    redis.call('HSET', VTIME, bestApp, string.format('%.6f', bestScore))
    lease_one(bestJ, i, slot)
    redis.call('HSET', jk(bestJ, 'job'), 'pass', string.format('%.6f', i.pass))
    if redis.call('LLEN', jk(bestJ, 'q')) > 0 then
      redis.call('ZADD', ready_key(bestApp), i.pass, bestJ)
    else
      unready(bestJ, bestApp)
    end
  else
    unready(bestJ, bestApp)   -- cannot happen while invariants hold; heal anyway
  end
end
return {tasks, jobs}
"""

HEARTBEAT = r"""
-- ARGV: P, now, then triples J, slot, lease_id
local now = tonumber(ARGV[2])
local out = {}
for k = 3, #ARGV, 3 do
  local J, slot, lease_id = ARGV[k], ARGV[k + 1], ARGV[k + 2]
  local f = redis.call('HMGET', jk(J, 'job'), 'state', 'lease')
  local rec = f[1] == 'running' and redis.call('HGET', jk(J, 's'), slot)
  local t = rec and split(rec)
  if t and t[1] == 'L' and t[3] == lease_id and tonumber(t[4]) > now then
    local exps = string.format('%.6f', now + tonumber(f[2]))
    redis.call('HSET', jk(J, 's'), slot, 'L|' .. t[2] .. '|' .. lease_id .. '|' .. exps .. '|' .. t[5])
    redis.call('ZADD', LEASES, exps, J .. '|' .. slot)
    out[#out + 1] = exps
  else
    out[#out + 1] = ''
  end
end
return out
"""

ACK = r"""
-- ARGV: P, now, then groups of five: J, slot, lease_id, kind ('r' | 'e'), payload
local now = tonumber(ARGV[2])

local function ack_one(J, slot, lease_id, kind, payload)
  local job = jk(J, 'job')
  local f = redis.call('HMGET', job, 'state', 'next')
  if not f[1] then return fail('no_such_job', 'no job ' .. J) end
  local n = tonumber(slot)
  if not n or n < 0 or n >= tonumber(f[2]) or tostring(n) ~= slot then
    return fail('no_such_task', 'job ' .. J .. ' has no slot ' .. slot)
  end
  local rec = redis.call('HGET', jk(J, 's'), slot)
  local t = rec and split(rec) or {'Q', '0', '', ''}
  if lease_id ~= '' and t[3] == lease_id
     and (t[1] == 'D' or t[1] == 'F' or (t[1] == 'Q' and t[4] == 'E')) then
    return {'dup'}
  end
  if not is_active(f[1]) then return fail('job_stopped', 'job ' .. J .. ' is ' .. f[1]) end
  if t[1] ~= 'L' or t[3] ~= lease_id or tonumber(t[4]) <= now then
    return fail('stale_lease', 'lease ' .. lease_id .. ' on ' .. J .. '/' .. slot .. ' is not live')
  end
  local att = tonumber(t[2])
  redis.call('ZREM', LEASES, J .. '|' .. slot)
  node_release(t[5])
  redis.call('HINCRBY', job, 'l', -1)
  if kind == 'r' then
    redis.call('HSET', jk(J, 's'), slot, 'D|' .. att .. '|' .. lease_id)
    redis.call('HSET', jk(J, 'r'), slot, payload)
    redis.call('HDEL', jk(J, 'in'), slot)
    redis.call('HINCRBY', job, 'd', 1)
    redis.call('PUBLISH', EVENTS, 'r|' .. slot .. '|' .. J)
  else
    retry_or_fail(J, slot, att, lease_id, 'E', payload)
  end
  return {'ok'}
end

local out = {}
for k = 3, #ARGV, 5 do
  out[#out + 1] = ack_one(ARGV[k], ARGV[k + 1], ARGV[k + 2], ARGV[k + 3], ARGV[k + 4])
end
return out
"""

REQUEUE_EXPIRED = r"""
-- ARGV: P, now, limit, error text
local now = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', LEASES, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZREM', LEASES, member)
  local J, slot = string.match(member, '^(.*)|(%d+)$')
  local rec = redis.call('HGET', jk(J, 's'), slot)
  local t = rec and split(rec)
  if t and t[1] == 'L' and tonumber(t[4]) <= now then
    node_release(t[5])
    local state = redis.call('HGET', jk(J, 'job'), 'state')
    if is_active(state) then
      redis.call('HINCRBY', jk(J, 'job'), 'l', -1)
      retry_or_fail(J, slot, tonumber(t[2]), '', 'X', ARGV[4])
    end
  end
end
return #due
"""

FETCH_MANY = r"""
-- ARGV: P, J, slots...
local J = ARGV[2]
local f = redis.call('HMGET', jk(J, 'job'), 'state', 'next', 'purged')
if not f[1] then return fail('no_such_job', 'no job ' .. J) end
local out = {f[1]}
for k = 3, #ARGV do
  local n = tonumber(ARGV[k])
  if not n or n < 0 or n >= tonumber(f[2]) then
    return fail('no_such_task', 'job ' .. J .. ' has no slot ' .. ARGV[k])
  end
  local rec = redis.call('HGET', jk(J, 's'), ARGV[k])
  out[#out + 1] = rec or ''
  if rec and (rec:sub(1, 1) == 'D' or rec:sub(1, 1) == 'F') then
    if f[3] then
      return fail('results_expired', 'job ' .. J .. ' ended longer ago than this server '
                  .. 'keeps task results ([app.naclgrid] results_ttl): they were dropped')
    end
    out[#out + 1] = redis.call('HGET', jk(J, 'r'), ARGV[k])
  else
    out[#out + 1] = ''
  end
end
return out
"""

TOUCH_NODE = r"""
-- ARGV: P, node, json record, live_until, now, forget_before
local NODES, UNTIL = P .. 'nodes', P .. 'nodes:until'
local old = redis.call('ZSCORE', UNTIL, ARGV[2])
local until_ = tonumber(ARGV[4])
if old and tonumber(old) > until_ then until_ = tonumber(old) end
redis.call('HSET', NODES, ARGV[2], ARGV[3])
redis.call('ZADD', UNTIL, string.format('%.6f', until_), ARGV[2])
local dead = redis.call('ZRANGEBYSCORE', UNTIL, '-inf', '(' .. ARGV[6], 'LIMIT', 0, 100)
for _, node in ipairs(dead) do
  redis.call('ZREM', UNTIL, node)
  redis.call('HDEL', NODES, node)
end
return {'ok'}
"""

REFRESH_NODE = r"""
-- ARGV: P, node, now, live_until
local NODES, UNTIL = P .. 'nodes', P .. 'nodes:until'
local raw = redis.call('HGET', NODES, ARGV[2])
if not raw then return 0 end
local record = cjson.decode(raw)
record['last_seen'] = tonumber(ARGV[3])
redis.call('HSET', NODES, ARGV[2], cjson.encode(record))
local old = tonumber(redis.call('ZSCORE', UNTIL, ARGV[2]) or '0')
if tonumber(ARGV[4]) > old then redis.call('ZADD', UNTIL, ARGV[4], ARGV[2]) end
return 1
"""

LIST_NODES = r"""
-- ARGV: P
return {redis.call('HGETALL', P .. 'nodes'),
        redis.call('ZRANGE', P .. 'nodes:until', 0, -1, 'WITHSCORES'),
        redis.call('HGETALL', NODELEASES)}
"""

REVOKE_KEY = r"""
-- ARGV: P, key_id, now
local raw = redis.call('HGET', P .. 'keys', ARGV[2])
if not raw then return 0 end
local record = cjson.decode(raw)
if not record['revoked_at'] then
  record['revoked_at'] = tonumber(ARGV[3])
  redis.call('HSET', P .. 'keys', ARGV[2], cjson.encode(record))
end
return 1
"""

REMEMBER_NONCE = r"""
-- ARGV: P, value, expires_at, now
local NONCES = P .. 'nonces'
redis.call('ZREMRANGEBYSCORE', NONCES, '-inf', ARGV[4])
if redis.call('ZSCORE', NONCES, ARGV[2]) then return 0 end
redis.call('ZADD', NONCES, ARGV[3], ARGV[2])
return 1
"""

KV_GET = r"""
-- ARGV: P, key, now
local k = P .. 'kv:' .. ARGV[2]
local f = redis.call('HMGET', k, 'v', 'exp')
if f[2] and tonumber(f[2]) <= tonumber(ARGV[3]) then
  redis.call('DEL', k)
  return false
end
return f[1]
"""

KV_INCR = r"""
-- ARGV: P, key, now, amount, ttl ('' = none)
local k = P .. 'kv:' .. ARGV[2]
local now = tonumber(ARGV[3])
local f = redis.call('HMGET', k, 'v', 'exp')
local value, exp = 0, nil
if f[1] and not (f[2] and tonumber(f[2]) <= now) then
  value, exp = tonumber(f[1]), f[2]
else
  redis.call('DEL', k)
  if ARGV[5] ~= '' then
    exp = string.format('%.6f', now + tonumber(ARGV[5]))
    -- Redis' own expiry only collects garbage, well after the logical one.
    redis.call('PEXPIRE', k, math.floor(tonumber(ARGV[5]) * 1000) + 60000)
  end
end
value = value + tonumber(ARGV[4])
redis.call('HSET', k, 'v', string.format('%d', value))
if exp then redis.call('HSET', k, 'exp', exp) end
return value
"""
