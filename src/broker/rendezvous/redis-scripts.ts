/**
 * Lua scripts for the Redis rendezvous store. Each runs atomically inside Redis, so checks and
 * writes cannot interleave with another instance's: the caps hold across instances, a status
 * change is a true compare-and-set, and a result is read and deleted in one step.
 *
 * Layout under the prefix (every key carries a TTL ending when its grant expires):
 *   grant:<id>   hash {json, status, exp, interval, wl}   uc:<user code> → id   dk:<device key> → id
 *   result:<id>  serialized token response               poll:<id> → last poll (epoch ms)
 *   wl:<hash of workload>, active   sorted sets id → expiresAt of grants holding capacity
 * Liveness is judged against the caller's `now`, like the memory store; TTLs only collect garbage.
 */

const PRELUDE = `
local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
local function settle(wl, active, id, exp, ttl, holds)
  if holds then
    redis.call('ZADD', wl, exp, id); extend(wl, ttl)
    redis.call('ZADD', active, exp, id); extend(active, ttl)
  else
    redis.call('ZREM', wl, id); redis.call('ZREM', active, id)
  end
end
`;

/** KEYS: grant, uc, dk, wl, active. ARGV: id, json, status, exp, now, maxPer, maxTotal, holds, prefix, interval. */
export const CREATE = `${PRELUDE}
local now = tonumber(ARGV[5])
local ttl = tonumber(ARGV[4]) - now
local function live(id)
  if not id then return false end
  local exp = redis.call('HGET', ARGV[9] .. 'grant:' .. id, 'exp')
  return exp and tonumber(exp) > now
end
if live(ARGV[1]) or live(redis.call('GET', KEYS[2])) or live(redis.call('GET', KEYS[3])) then
  return 'duplicate'
end
local holds = ARGV[8] == '1'
if holds then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then return 'workload' end
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[5])
  if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[7]) then return 'total' end
end
redis.call('DEL', KEYS[1], ARGV[9] .. 'result:' .. ARGV[1], ARGV[9] .. 'poll:' .. ARGV[1])
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'status', ARGV[3], 'exp', ARGV[4], 'interval', ARGV[10], 'wl', KEYS[4])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
redis.call('SET', KEYS[3], ARGV[1], 'PX', ttl)
if holds then settle(KEYS[4], KEYS[5], ARGV[1], ARGV[4], ttl, true) end
return 'ok'
`;

/** KEYS: grant, active. ARGV: from, to, now, id, holdsTo. Returns 1 when the status was `from`. */
export const TRANSITION = `${PRELUDE}
local now = tonumber(ARGV[3])
local h = redis.call('HMGET', KEYS[1], 'status', 'exp', 'wl')
if not h[2] or tonumber(h[2]) <= now or h[1] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
settle(h[3], KEYS[2], ARGV[4], h[2], tonumber(h[2]) - now, ARGV[5] == '1')
return 1
`;

/** KEYS: grant, result, active. ARGV: result, now, id. Returns 1 when the grant was approved. */
export const DELIVER = `${PRELUDE}
local now = tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'status', 'exp', 'wl')
if not h[2] or tonumber(h[2]) <= now or h[1] ~= 'approved' then return 0 end
local ttl = tonumber(h[2]) - now
redis.call('HSET', KEYS[1], 'status', 'complete')
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
settle(h[3], KEYS[3], ARGV[3], h[2], ttl, false)
return 1
`;

/** KEYS: dk. ARGV: now, prefix. GET and DEL in one step: at most one caller sees the result. */
export const TAKE = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
local exp = redis.call('HGET', ARGV[2] .. 'grant:' .. id, 'exp')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return false end
local key = ARGV[2] .. 'result:' .. id
local result = redis.call('GET', key)
if result then redis.call('DEL', key) end
return result
`;

/** KEYS: dk. ARGV: now, prefix. Records this poll; returns {previous poll or '', interval}. */
export const POLL = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
local h = redis.call('HMGET', ARGV[2] .. 'grant:' .. id, 'exp', 'interval')
if not h[1] or tonumber(h[1]) <= tonumber(ARGV[1]) then return false end
local key = ARGV[2] .. 'poll:' .. id
local previous = redis.call('GET', key)
redis.call('SET', key, ARGV[1], 'PX', tonumber(h[1]) - tonumber(ARGV[1]))
return {previous or '', h[2]}
`;

/** KEYS: uc or dk index. ARGV: prefix. Index lookup and record read in one round trip. */
export const READ_INDEXED = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('HMGET', ARGV[1] .. 'grant:' .. id, 'json', 'status', 'exp')
`;
