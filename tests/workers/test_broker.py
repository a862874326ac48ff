"""workers/broker.py: the broker's recovery settings (issue 27, docs/operations.md)."""

from __future__ import annotations

from core.config import Settings


def test_a_dead_workers_messages_come_back_within_two_minutes_by_default(broker) -> None:
    """Dramatiq's defaults (60 s heartbeat, maintenance on 1 command in 1,000) left a killed
    worker's messages unacknowledged for 6-15 minutes; the broker is built with ours."""
    defaults = Settings(_env_file=None)
    assert broker.heartbeat_timeout == defaults.broker_heartbeat_timeout_ms == 30_000
    assert broker.maintenance_chance == defaults.broker_maintenance_chance == 100_000
    # and a job whose runner died is released by the sweeper within a minute
    assert defaults.job_lease_s + defaults.job_sweep_interval_s <= 60
