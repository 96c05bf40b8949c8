"""The store's Redis layout and the Lua scripts that change it atomically.

Keys of store NAME (one hash tag, so a Redis Cluster keeps a store on one slot):
    memup:{NAME}:index       zset  episode_id -> insertion sequence number (FIFO order)
    memup:{NAME}:blobs       hash  episode_id -> Arrow IPC blob
    memup:{NAME}:sizes       hash  episode_id -> "steps bytes" (to evict without decoding)
    memup:{NAME}:counters    hash  seq, episodes, steps, bytes, inserted, inserted_steps,
                                   evicted, sampled, quarantined, and inserted:POLICY_ID per
                                   behaviour policy
    memup:{NAME}:rate        hash  b0..b9 -> "unix_second episodes steps" (insert-rate ring)
    memup:{NAME}:quarantine  hash  episode_id -> blob that failed to decode
    memup:{NAME}:reasons     hash  episode_id -> why it was quarantined
    memup:{NAME}:config      string  JSON of the table settings the store was created with

Every script receives all data keys in that order, so a reader never observes a half-applied
insert, eviction or quarantine. Scripts never call math.random: clients pass uniform draws.
LIMITER below stands for the four rate-limiter arguments `RateLimiter.script_args()`:
min_size_to_sample, samples_per_insert (0: off), min_diff, max_diff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")


@dataclass(frozen=True)
class StoreKeys:
    """Redis key names of one store."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise ValueError(
                f"store name must be 1-100 characters of letters, digits, '_', '.', '-' "
                f"(starting with a letter or digit), got {self.name!r}"
            )

    def key(self, part: str) -> str:
        return f"memup:{{{self.name}}}:{part}"

    index = property(lambda self: self.key("index"))
    blobs = property(lambda self: self.key("blobs"))
    sizes = property(lambda self: self.key("sizes"))
    counters = property(lambda self: self.key("counters"))
    rate = property(lambda self: self.key("rate"))
    quarantine = property(lambda self: self.key("quarantine"))
    reasons = property(lambda self: self.key("reasons"))
    config = property(lambda self: self.key("config"))

    @property
    def data(self) -> list[str]:
        """The keys every script receives, in the order the scripts expect (KEYS[1..7])."""
        return [self.index, self.blobs, self.sizes, self.counters, self.rate, self.quarantine,
                self.reasons]


_PRELUDE = """
local index, blobs, sizes, counters = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local rate, quarantine, reasons = KEYS[5], KEYS[6], KEYS[7]
local function num(v) return tonumber(v) or 0 end
local function parse_size(v)
  if not v then return 0, 0 end
  local s, b = string.match(v, '^(%d+) (%d+)$')
  return num(s), num(b)
end
-- Reverb's SampleToInsertRatio, counted in episodes; spi <= 0 switches the limiter off.
local function can_insert(size, inserted, sampled, min_size, spi, max_diff)
  if spi <= 0 or size + 1 <= min_size then return true end
  return (inserted + 1) * spi - sampled <= max_diff + 1e-9
end
local function sample_allowance(size, inserted, sampled, min_size, spi, min_diff, n)
  if size < min_size or size < 1 then return 0 end
  if spi <= 0 then return n end
  local k = math.floor(inserted * spi - sampled - min_diff + 1e-9)
  return math.max(0, math.min(n, k))
end
"""

# ARGV: cap_steps, cap_episodes (0: none), LIMITER, then (id, steps, policy id, blob) quadruples.
# Stops at the first episode the rate limiter refuses; returns {episodes handled, evicted}.
# An id already stored is skipped and counted as handled, which makes a retried insert harmless.
INSERT = _PRELUDE + """
local cap_steps, cap_eps = tonumber(ARGV[1]), tonumber(ARGV[2])
local min_size, spi, max_diff = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local c = redis.call('HMGET', counters, 'seq', 'episodes', 'steps', 'bytes', 'inserted', 'sampled')
local seq, eps, steps, nbytes = num(c[1]), num(c[2]), num(c[3]), num(c[4])
local inserted, sampled = num(c[5]), num(c[6])
local done, new_eps, new_steps, evicted = 0, 0, 0, 0
for i = 7, #ARGV, 4 do
  local id, len, policy, blob = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  if can_insert(eps, inserted, sampled, min_size, spi, max_diff) then
    if redis.call('HSETNX', blobs, id, blob) == 1 then
      seq = seq + 1
      redis.call('HSET', sizes, id, len .. ' ' .. #blob)
      redis.call('ZADD', index, seq, id)
      eps, steps, nbytes, inserted = eps + 1, steps + len, nbytes + #blob, inserted + 1
      new_eps, new_steps = new_eps + 1, new_steps + len
      if policy ~= '' then redis.call('HINCRBY', counters, 'inserted:' .. policy, 1) end
      while eps > 1 and (steps > cap_steps or (cap_eps > 0 and eps > cap_eps)) do
        local oldest = redis.call('ZPOPMIN', index)[1]
        if not oldest then break end
        local s, b = parse_size(redis.call('HGET', sizes, oldest))
        redis.call('HDEL', blobs, oldest)
        redis.call('HDEL', sizes, oldest)
        eps, steps, nbytes, evicted = eps - 1, steps - s, nbytes - b, evicted + 1
      end
    end
  elseif redis.call('HEXISTS', blobs, id) == 0 then
    break  -- refused by the rate limiter (an id already stored needs no room)
  end
  done = done + 1
end
if new_eps > 0 then
  redis.call('HSET', counters, 'seq', seq, 'episodes', eps, 'steps', steps, 'bytes', nbytes,
             'inserted', inserted)
  redis.call('HINCRBY', counters, 'inserted_steps', new_steps)
  redis.call('HINCRBY', counters, 'evicted', evicted)
  local now = tonumber(redis.call('TIME')[1])
  local field, e, s = 'b' .. (now % 10), new_eps, new_steps
  local t, ce, cs = string.match(redis.call('HGET', rate, field) or '', '^(%d+) (%d+) (%d+)$')
  if num(t) == now then e, s = e + num(ce), s + num(cs) end
  redis.call('HSET', rate, field, now .. ' ' .. e .. ' ' .. s)
end
return {done, evicted}
"""

# ARGV: LIMITER, inline_bytes (-1: every blob), then one uniform draw in [0, 1) per wanted
# episode. Returns {stored episodes, k, id_1, blob_1, size_1, ..., id_k, blob_k, size_k}; k <
# draws when rate-limited; blob_j is false when the blob is larger than inline_bytes (the reader
# fetches it in ranges, RANGE below), size_j is its "steps bytes" entry.
SAMPLE = _PRELUDE + """
local size = redis.call('ZCARD', index)
local c = redis.call('HMGET', counters, 'inserted', 'sampled')
local k = sample_allowance(size, num(c[1]), num(c[2]), tonumber(ARGV[1]), tonumber(ARGV[2]),
                           tonumber(ARGV[3]), #ARGV - 5)
local inline = tonumber(ARGV[5])
local out = {size, k}
for j = 1, k do
  local rank = math.min(math.floor(tonumber(ARGV[5 + j]) * size), size - 1)
  local id = redis.call('ZRANGE', index, rank, rank)[1]
  local entry = redis.call('HGET', sizes, id)
  local _, nbytes = parse_size(entry)
  out[#out + 1] = id
  out[#out + 1] = (inline < 0 or nbytes <= inline) and redis.call('HGET', blobs, id) or false
  out[#out + 1] = entry or false
end
if k > 0 then redis.call('HINCRBY', counters, 'sampled', k) end
return out
"""

# ARGV: episode_id, start, stop. Bytes start .. stop - 1 of the episode's blob (Redis has no
# GETRANGE for hash fields: the server slices, only the range crosses the wire), or false
# when the episode is gone (evicted or quarantined).
RANGE = _PRELUDE + """
local blob = redis.call('HGET', blobs, ARGV[1])
if not blob then return false end
return string.sub(blob, tonumber(ARGV[2]) + 1, tonumber(ARGV[3]))
"""

# ARGV: episode_id, reason, refund (samples to give back to the rate limiter).
# Moves the blob to the quarantine hash and drops the episode from the index; returns 1 if it
# was still stored (0: someone else already quarantined or evicted it).
QUARANTINE = _PRELUDE + """
local id = ARGV[1]
local removed = redis.call('ZREM', index, id)
local blob = redis.call('HGET', blobs, id)
if blob then
  redis.call('HSET', quarantine, id, blob)
  redis.call('HDEL', blobs, id)
end
if removed == 1 then
  local s, b = parse_size(redis.call('HGET', sizes, id))
  redis.call('HDEL', sizes, id)
  redis.call('HSET', reasons, id, ARGV[2])
  redis.call('HINCRBY', counters, 'episodes', -1)
  redis.call('HINCRBY', counters, 'steps', -s)
  redis.call('HINCRBY', counters, 'bytes', -b)
  redis.call('HINCRBY', counters, 'quarantined', 1)
end
local refund = tonumber(ARGV[3])
if refund > 0 then redis.call('HINCRBY', counters, 'sampled', -refund) end
return removed
"""

# ARGV: after (exclusive), until (inclusive) sequence numbers, count.
# Returns {id, seq, blob, ...} in FIFO order.
PAGE = _PRELUDE + """
local r = redis.call('ZRANGEBYSCORE', index, '(' .. ARGV[1], ARGV[2], 'WITHSCORES', 'LIMIT', 0, ARGV[3])
local out = {}
for i = 1, #r, 2 do
  out[#out + 1] = r[i]
  out[#out + 1] = r[i + 1]
  out[#out + 1] = redis.call('HGET', blobs, r[i])
end
return out
"""

# ARGV: LIMITER. Returns {size, inserted, sampled, can_insert, can_sample}.
PROBE = _PRELUDE + """
local size = redis.call('ZCARD', index)
local c = redis.call('HMGET', counters, 'inserted', 'sampled')
local inserted, sampled = num(c[1]), num(c[2])
local min_size, spi = tonumber(ARGV[1]), tonumber(ARGV[2])
local ins = can_insert(size, inserted, sampled, min_size, spi, tonumber(ARGV[4])) and 1 or 0
local can_sample = sample_allowance(size, inserted, sampled, min_size, spi, tonumber(ARGV[3]), 1)
return {size, inserted, sampled, ins, can_sample}
"""


@dataclass(frozen=True)
class Scripts:
    """The scripts registered on one client (redis-py re-loads them after a server restart)."""

    insert: redis.commands.core.Script
    sample: redis.commands.core.Script
    quarantine: redis.commands.core.Script
    page: redis.commands.core.Script
    probe: redis.commands.core.Script
    range: redis.commands.core.Script

    @classmethod
    def register(cls, client: redis.Redis) -> Scripts:
        return cls(
            insert=client.register_script(INSERT),
            sample=client.register_script(SAMPLE),
            quarantine=client.register_script(QUARANTINE),
            page=client.register_script(PAGE),
            probe=client.register_script(PROBE),
            range=client.register_script(RANGE),
        )
