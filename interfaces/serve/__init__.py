"""`omni serve`: the HTTP retrieval API for chat applications (docs/serve.md)."""

MAX_K = 50  # chunks per request
