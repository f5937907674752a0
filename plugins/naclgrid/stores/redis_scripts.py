"""Lua scripts of the Redis store: each multi-key operation is one script,
so it is atomic and a crash leaves either all of it or none of it.

Key layout (P = namespace, J = job id; one job's keys share the hash tag
``{J}``):

- ``P{J}:job``   hash: owner app state prio maxatt lease created started
  finished next(slot count) q l d f(counts) held pass insize meta purged
- ``P{J}:input`` string: the start_job input
- ``P{J}:files`` hash: name -> "sha256|size"
- ``P{J}:in``    hash: slot -> entry "\\n" input (deleted once final)
- ``P{J}:q``     list: queued slots, served from the left
- ``P{J}:s``     hash: slot -> task record (absent = queued, never leased):
  ``L|att|lease|expires|node``, ``Q|att|lastlease|E`` (requeued after an
  error ack: the same ack again is a duplicate), ``Q|att||X`` (requeued after
  expiry), ``D|att|lease``, ``F|att|lease``
- ``P{J}:r``     hash: slot -> result bytes (done) or error text (failed)

Global: ``Pready:<app>`` zset job -> stride pass; ``Preadyapps`` set of apps
with ready jobs; ``Pvtime`` hash app -> pass of the last job served;
``Pleases`` zset "J|slot" -> expiry; ``Pnodeleases`` hash node -> leases;
``Pjobs`` / ``Powner:<u>`` zsets of job ids by creation; ``Pfinished`` zset
of ended jobs not purged yet, by end time; ``Pactive:<u>`` set
of created/running jobs; ``Pnodes`` hash + ``Pnodes:until`` zset;
``Pkeys`` hash; ``Pnonces`` zset; ``Pkv:<k>`` hashes; ``Pblob:<sha>``.

Scripts build key names from ARGV[1] (the namespace). That is fine on one
Redis (the deployment we support, with AOF); a Redis Cluster would need the
scripts that touch global indexes (pop, requeue) split in two steps.

Errors come back as ``{"!", code, message}``; events are PUBLISHed on
``Pevents`` as ``w|count|app`` and ``r|slot|job`` (slot empty: whole job).
"""

PRELUDE = r"""
local P = ARGV[1]
local function jk(J, s) return P .. '{' .. J .. '}:' .. s end
local READYAPPS, VTIME, LEASES = P .. 'readyapps', P .. 'vtime', P .. 'leases'
local NODELEASES, EVENTS = P .. 'nodeleases', P .. 'events'
local function ready_key(app) return P .. 'ready:' .. app end
local function split(s)
  local t = {}
  for p in (s .. '|'):gmatch('([^|]*)|') do t[#t + 1] = p end
  return t
end
local function fail(code, msg) return {'!', code, msg or ''} end
local function is_active(state) return state == 'created' or state == 'running' end

-- Put job J in its application's ready set if it can be served now.
-- Returns the number of queued tasks that became servable (0 if none).
local function make_ready(J)
  local job = jk(J, 'job')
  local f = redis.call('HMGET', job, 'state', 'held', 'app', 'pass')
  if f[1] ~= 'running' or f[2] then return 0 end
  local n = redis.call('LLEN', jk(J, 'q'))
  if n == 0 then return 0 end
  local rk = ready_key(f[3])
  if not redis.call('ZSCORE', rk, J) then
    -- Enter at the application's virtual time: no lost turn, no burst.
    local pass = tonumber(f[4] or '0')
    local vt = tonumber(redis.call('HGET', VTIME, f[3]) or '0')
    if vt > pass then pass = vt end
    redis.call('ZADD', rk, pass, J)
    redis.call('SADD', READYAPPS, f[3])
  end
  return n
end

local function unready(J, app)
  local rk = ready_key(app)
  redis.call('ZREM', rk, J)
  if redis.call('ZCARD', rk) == 0 then redis.call('SREM', READYAPPS, app) end
end

local function node_release(node)
  if redis.call('HINCRBY', NODELEASES, node, -1) <= 0 then
    redis.call('HDEL', NODELEASES, node)
  end
end

-- An error ack or an expired lease: back to the front of the queue, or
-- failed with `err` once the attempts are used up.
local function retry_or_fail(J, slot, att, lease_id, mark, err)
  local job = jk(J, 'job')
  if att >= tonumber(redis.call('HGET', job, 'maxatt')) then
    redis.call('HSET', jk(J, 's'), slot, 'F|' .. att .. '|' .. lease_id)
    redis.call('HSET', jk(J, 'r'), slot, err)
    redis.call('HDEL', jk(J, 'in'), slot)
    redis.call('HINCRBY', job, 'f', 1)
    redis.call('PUBLISH', EVENTS, 'r|' .. slot .. '|' .. J)
  else
    redis.call('HSET', jk(J, 's'), slot, 'Q|' .. att .. '|' .. lease_id .. '|' .. mark)
    redis.call('LPUSH', jk(J, 'q'), slot)
    redis.call('HINCRBY', job, 'q', 1)
    if make_ready(J) > 0 then
      redis.call('PUBLISH', EVENTS, 'w|1|' .. redis.call('HGET', job, 'app'))
    end
  end
end
"""

CREATE_JOB = r"""
-- ARGV: P, J, owner, app, now, prio, maxatt, lease, meta, max_active ('' = none)
local J, owner, now = ARGV[2], ARGV[3], ARGV[5]
local active = P .. 'active:' .. owner
if ARGV[10] ~= '' and redis.call('SCARD', active) >= tonumber(ARGV[10]) then
  return fail('limit_exceeded', 'user ' .. owner .. ' already has '
              .. redis.call('SCARD', active) .. ' active jobs')
end
redis.call('HSET', jk(J, 'job'), 'owner', owner, 'app', ARGV[4], 'state', 'created',
  'prio', ARGV[6], 'maxatt', ARGV[7], 'lease', ARGV[8], 'created', now, 'next', 0,
  'q', 0, 'l', 0, 'd', 0, 'f', 0, 'pass', 0, 'insize', 0, 'meta', ARGV[9])
redis.call('SADD', active, J)
redis.call('ZADD', P .. 'jobs', now, J)
redis.call('ZADD', P .. 'owner:' .. owner, now, J)
return {'ok'}
"""

GET_JOB = r"""
-- ARGV: P, J
local J = ARGV[2]
local job = redis.call('HGETALL', jk(J, 'job'))
if #job == 0 then return fail('no_such_job', 'no job ' .. J) end
return {job, redis.call('HGETALL', jk(J, 'files'))}
"""

ADD_FILE = r"""
-- ARGV: P, J, name, sha|size
local J = ARGV[2]
local state = redis.call('HGET', jk(J, 'job'), 'state')
if not state then return fail('no_such_job', 'no job ' .. J) end
if not is_active(state) then return fail('job_stopped', 'job ' .. J .. ' is ' .. state) end
redis.call('HSET', jk(J, 'files'), ARGV[3], ARGV[4])
return {'ok'}
"""

START_JOB = r"""
-- ARGV: P, J, now, input, meta-json-to-merge ('' = none)
local J = ARGV[2]
local job = jk(J, 'job')
local state = redis.call('HGET', job, 'state')
if not state then return fail('no_such_job', 'no job ' .. J) end
if state ~= 'created' then return fail('job_not_running', 'job ' .. J .. ' is ' .. state) end
redis.call('HSET', job, 'state', 'running', 'started', ARGV[3], 'insize', #ARGV[4])
redis.call('SET', jk(J, 'input'), ARGV[4])
if ARGV[5] ~= '' then
  local meta = cjson.decode(redis.call('HGET', job, 'meta'))
  for k, v in pairs(cjson.decode(ARGV[5])) do meta[k] = v end
  redis.call('HSET', job, 'meta', cjson.encode(meta))
end
local n = make_ready(J)
local app = redis.call('HGET', job, 'app')
redis.call('PUBLISH', EVENTS, 's|' .. app .. '|' .. J)
if n > 0 then redis.call('PUBLISH', EVENTS, 'w|' .. n .. '|' .. app) end
return {'ok'}
"""

STOP_JOB = r"""
-- ARGV: P, J, state, now
local J = ARGV[2]
local job = jk(J, 'job')
local f = redis.call('HMGET', job, 'state', 'owner', 'app', 'q', 'l')
if not f[1] then return fail('no_such_job', 'no job ' .. J) end
if not is_active(f[1]) then return fail('job_not_running', 'job ' .. J .. ' is ' .. f[1]) end
-- O(1) apart from freeing the queue: unfinished tasks read as failed
-- "job stopped" from now on, and their leases are fenced by the state.
redis.call('HSET', job, 'state', ARGV[3], 'finished', ARGV[4], 'q', 0, 'l', 0)
redis.call('HINCRBY', job, 'f', tonumber(f[4]) + tonumber(f[5]))
redis.call('UNLINK', jk(J, 'q'))
unready(J, f[3])
redis.call('SREM', P .. 'active:' .. f[2], J)
redis.call('ZADD', P .. 'finished', ARGV[4], J)
redis.call('PUBLISH', EVENTS, 'r||' .. J)
return {'ok'}
"""

PURGE_FINISHED = r"""
-- ARGV: P, before, limit
local FINISHED = P .. 'finished'
local js = redis.call('ZRANGEBYSCORE', FINISHED, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, J in ipairs(js) do
  redis.call('UNLINK', jk(J, 'in'), jk(J, 'r'))
  redis.call('HSET', jk(J, 'job'), 'purged', 1)
  redis.call('ZREM', FINISHED, J)
end
return #js
"""

HOLD_JOB = r"""
-- ARGV: P, J, reason ('' = unhold)
local J = ARGV[2]
local job = jk(J, 'job')
local app = redis.call('HGET', job, 'app')
if not app then return fail('no_such_job', 'no job ' .. J) end
if ARGV[3] ~= '' then
  redis.call('HSET', job, 'held', ARGV[3])
  unready(J, app)
elseif redis.call('HDEL', job, 'held') == 1 then
  local n = make_ready(J)
  if n > 0 then redis.call('PUBLISH', EVENTS, 'w|' .. n .. '|' .. app) end
end
return {'ok'}
"""

FORK = r"""
-- ARGV: P, J, max_tasks ('' = none), packed task 1, packed task 2, ...
local J = ARGV[2]
local job = jk(J, 'job')
local f = redis.call('HMGET', job, 'state', 'next', 'app', 'held')
if not f[1] then return fail('no_such_job', 'no job ' .. J) end
if not is_active(f[1]) then return fail('job_stopped', 'job ' .. J .. ' is ' .. f[1]) end
local first, n = tonumber(f[2]), #ARGV - 3
if ARGV[3] ~= '' and first + n > tonumber(ARGV[3]) then
  return fail('limit_exceeded', 'job ' .. J .. ' would exceed ' .. ARGV[3] .. ' tasks')
end
local CHUNK = 500
for base = 0, n - 1, CHUNK do
  local pairs_, slots = {}, {}
  for i = base, math.min(base + CHUNK, n) - 1 do
    pairs_[#pairs_ + 1] = first + i
    pairs_[#pairs_ + 1] = ARGV[4 + i]
    slots[#slots + 1] = first + i
  end
  redis.call('HSET', jk(J, 'in'), unpack(pairs_))
  redis.call('RPUSH', jk(J, 'q'), unpack(slots))
end
redis.call('HINCRBY', job, 'next', n)
redis.call('HINCRBY', job, 'q', n)
if make_ready(J) > 0 then redis.call('PUBLISH', EVENTS, 'w|' .. n .. '|' .. f[3]) end
return {'ok', first}
"""
