"""Dramatiq workers. Nothing is set up at import: `workers.broker.setup_broker` builds the broker
and declares the actors (`dramatiq workers.broker:setup_broker` runs them)."""
