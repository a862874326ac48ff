"""Dramatiq workers. Nothing is set up at import: `workers.actors.setup_worker` builds the broker
and declares the actors (`dramatiq workers.actors:setup_worker` runs them)."""
