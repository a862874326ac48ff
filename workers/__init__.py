"""Dramatiq workers. Import `workers.broker` before any actor module (workers.actors does)."""
