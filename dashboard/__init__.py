"""The monitoring dashboard: a small Starlette app with server-rendered templates."""
