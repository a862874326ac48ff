"""AutoThrottle that learns from 304 Not Modified answers too.

Stock AutoThrottle never lowers the delay on a non-200 answer (error pages are fast and would
fool it). A 304 is a normal, cheap answer; ignoring it left a re-crawl made almost only of 304s
stuck at whatever delay an early slow response had set.
"""

from __future__ import annotations

from typing import Any

from scrapy.extensions.throttle import AutoThrottle


class _As200:
    status = 200

    def __init__(self, response: Any) -> None:
        self.body = response.body


class ConditionalAutoThrottle(AutoThrottle):
    def _adjust_delay(self, slot: Any, latency: float, response: Any) -> None:
        if response.status == 304:
            response = _As200(response)
        super()._adjust_delay(slot, latency, response)
