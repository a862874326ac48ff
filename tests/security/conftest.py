"""Two tenants, A (the attacker) and B (the victim), registered by the operator; and a
connection that acts as A the way a tenant really reaches the database: role `authenticated`
with A's JWT claims, committing what it writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from db import tenants
from db.connection import connect


@dataclass
class Side:
    user: Any
    customer: Any
    domain: str
    domain_id: Any


@dataclass
class Tenants:
    a: Side
    b: Side


@pytest.fixture
def tenants_ab(db) -> Tenants:

    sides = []
    for name in ("a", "b"):
        customer = tenants.add_customer(db, f"owner@{name}.test", company_name=name.upper())
        domain = tenants.add_domain(db, f"{name}.test", customer=customer)
        sides.append(Side(customer["auth_user_id"], customer["id"], domain["domain"], domain["id"]))
    return Tenants(*sides)


@contextmanager
def as_attacker(user_id: Any) -> Iterator[psycopg.Connection]:
    """A separate autocommit connection as tenant `user_id` (RLS applies; writes persist)."""

    with connect(autocommit=True) as conn:
        conn.execute("SET ROLE authenticated")
        conn.execute(
            "SELECT set_config('request.jwt.claims', %s, false)",
            (json.dumps({"sub": str(user_id), "role": "authenticated"}),),
        )
        yield conn


def error_of(conn: psycopg.Connection, statement: str, params: Any = None) -> psycopg.Error:
    """The error a statement raises (it must raise)."""
    try:
        conn.execute(statement, params)
    except psycopg.Error as exc:
        return exc
    raise AssertionError(f"statement succeeded: {statement}")
