/**
 * Lua scripts for the Redis rendezvous store. Each runs atomically inside Redis, so checks and
 * writes cannot interleave with another instance's: the caps hold across instances, a status
 * change is a true compare-and-set on the whole sealed record, and a result is read and deleted in
 * one step.
 *
 * Layout under the prefix, <t> being a keyed hash (record-seal.ts), every key with a TTL ending
 * when its grant expires:
 *   grant:<t of id>   hash {rec: sealed record, exp, wl}
 *   uc:<t of user code>, dk:<t of device key>   "<exp>.<t of id>.<sealed grant key name>"
 *   result:<t of id>   sealed token response     poll:<t of id>   last poll (epoch ms)
 *   wl:<t of workload>, active   sorted sets <t of id> → expiresAt of grants holding capacity
 * The scripts never see a plaintext: `exp` and the index's `<exp>.` prefix are there only so
 * liveness is judged against the caller's `now`, like the memory store (TTLs only collect garbage).
 */

const PRELUDE = `
local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
local function settle(wl, active, member, exp, ttl, holds)
  if holds then
    redis.call('ZADD', wl, exp, member); extend(wl, ttl)
    redis.call('ZADD', active, exp, member); extend(active, ttl)
  else
    redis.call('ZREM', wl, member); redis.call('ZREM', active, member)
  end
end
`;

/**
 * KEYS: grant, uc, dk, wl, active, result, poll, then index names under older keys (rotation).
 * ARGV: rec, uc entry, dk entry, exp, now, maxPer, maxTotal, holds, member.
 */
export const CREATE = `${PRELUDE}
local now = tonumber(ARGV[5])
local ttl = tonumber(ARGV[4]) - now
local function liveIndex(key)
  local entry = redis.call('GET', key)
  if not entry then return false end
  local exp = tonumber(string.match(entry, '^(%d+)%.'))
  return exp ~= nil and exp > now
end
local exp = redis.call('HGET', KEYS[1], 'exp')
if (exp and tonumber(exp) > now) or liveIndex(KEYS[2]) or liveIndex(KEYS[3]) then return 'duplicate' end
for i = 8, #KEYS do
  if liveIndex(KEYS[i]) then return 'duplicate' end
end
local holds = ARGV[8] == '1'
if holds then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then return 'workload' end
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[5])
  if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[7]) then return 'total' end
end
redis.call('DEL', KEYS[1], KEYS[6], KEYS[7])
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'exp', ARGV[4], 'wl', KEYS[4])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('SET', KEYS[3], ARGV[3], 'PX', ttl)
if holds then settle(KEYS[4], KEYS[5], ARGV[9], ARGV[4], ttl, true) end
return 'ok'
`;

/** KEYS: grant, active. ARGV: expected rec, new rec, now, member, holdsTo. 1 when rec was the expected one. */
export const TRANSITION = `${PRELUDE}
local now = tonumber(ARGV[3])
local h = redis.call('HMGET', KEYS[1], 'rec', 'exp', 'wl')
if not h[2] or tonumber(h[2]) <= now or h[1] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[2])
settle(h[3], KEYS[2], ARGV[4], h[2], tonumber(h[2]) - now, ARGV[5] == '1')
return 1
`;

/** KEYS: grant, result, active. ARGV: expected rec, new rec, result, now, member. */
export const DELIVER = `${PRELUDE}
local now = tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'rec', 'exp', 'wl')
if not h[2] or tonumber(h[2]) <= now or h[1] ~= ARGV[1] then return 0 end
local ttl = tonumber(h[2]) - now
redis.call('HSET', KEYS[1], 'rec', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl)
settle(h[3], KEYS[3], ARGV[5], h[2], ttl, false)
return 1
`;

/** KEYS: result, grant. ARGV: now. GET and DEL in one step: at most one caller sees the result. */
export const TAKE = `
local exp = redis.call('HGET', KEYS[2], 'exp')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return false end
local result = redis.call('GET', KEYS[1])
if result then redis.call('DEL', KEYS[1]) end
return result
`;

/** KEYS: poll, grant. ARGV: now. Records this poll; returns the previous one or ''. */
export const POLL = `
local exp = redis.call('HGET', KEYS[2], 'exp')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return false end
local previous = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(exp) - tonumber(ARGV[1]))
return previous or ''
`;

/**
 * KEYS: uc or dk index. ARGV: the grant key prefix. Returns {entry, record or false}: the index
 * entry and the record its clear tag names, in one round trip (the caller checks the sealed name).
 */
export const READ_INDEXED = `
local entry = redis.call('GET', KEYS[1])
if not entry then return false end
local tag = string.match(entry, '^%d+%.([A-Za-z0-9_-]+)%.')
if not tag then return {entry, false} end
return {entry, redis.call('HGET', ARGV[1] .. ':' .. tag, 'rec')}
`;
