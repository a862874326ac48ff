from db.migrate import discover, pending


def test_migrations_applied_once(db) -> None:
    assert pending(db) == []
    assert len(discover()) >= 2


def test_redis_is_real(redis_client) -> None:
    assert redis_client.ping() is True
