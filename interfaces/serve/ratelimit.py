"""A token bucket per API key in Redis, so every `omni serve` process shares it.

The bucket holds up to `rate` tokens (the customer's requests per minute) and refills at
rate/60 tokens a second; a request takes one. The check-and-take is one Lua script, atomic on
the Redis server, with Redis's clock (processes on different hosts agree)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# KEYS[1] bucket; ARGV: capacity, refill per second. Returns {allowed, tokens*1000, retry_ms}.
_TAKE = """
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * refill)
local allowed = 0
local retry_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry_ms = math.ceil((1 - tokens) / refill * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / refill * 1000) + 1000)
return {allowed, math.floor(tokens * 1000), retry_ms}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int  # whole seconds, for the Retry-After header (0 when allowed)


class RateLimiter:
    def __init__(self, client: Any, prefix: str = "omni:serve:bucket:") -> None:
        self._script = client.register_script(_TAKE)
        self._prefix = prefix

    def take(self, key_id: str, per_minute: int) -> Decision:
        per_minute = max(1, per_minute)
        allowed, tokens_milli, retry_ms = self._script(
            keys=[self._prefix + key_id], args=[per_minute, per_minute / 60.0]
        )
        return Decision(
            bool(allowed),
            int(tokens_milli) // 1000,
            0 if allowed else max(1, math.ceil(int(retry_ms) / 1000)),
        )
