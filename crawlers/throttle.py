"""AutoThrottle that learns from 304 Not Modified answers too.

Stock AutoThrottle never lowers the delay on a non-200 answer (error pages are fast and would
fool it). A 304 is a normal, cheap answer; ignoring it left a re-crawl made almost only of 304s
stuck at whatever delay an early slow response had set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawlers.scrapy_compat import AutoThrottleWithResponseHook

if TYPE_CHECKING:
    from scrapy.http import Response


class ConditionalAutoThrottle(AutoThrottleWithResponseHook):
    def response_for_delay(self, response: Response) -> Response:
        # the policy reads the status and the body: a 304 is judged as the 200 it stands for
        return response.replace(status=200) if response.status == 304 else response
