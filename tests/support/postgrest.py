"""Calls as PostgREST (Supabase's REST layer) runs them, for replaying a client's database calls.

`rpc(conn, name, args)` picks the function the way PostgREST's `findProc` does
(src/PostgREST/Plan.hs): among the functions of that name in the exposed schema, the ones whose
*named input parameters* fit the set of keys sent: every parameter without a default present,
every key a parameter (parameters with a default may be left out). None: PGRST202; more than one:
PGRST203 (the error Supabase clients get for ambiguous overloads). It then calls the one it chose
with named notation, each argument cast to its parameter's declared type, as PostgREST's
`json_to_record(...)` does. `select(...)`, `insert(...)` and `update(...)` build the statements
supabase-js's query builder sends (`.from(t).select(cols).eq(...).order(...).limit(...)`).

`as_client(conn, role)` is the request's transaction: `SET LOCAL ROLE` and
`request.jwt.claims`, as PostgREST sets them from the JWT (service_role, anon, authenticated).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb


class PostgrestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class Routine:
    oid: int
    name: str
    params: tuple[tuple[str, str, bool], ...]  # (name, declared type, required) of IN params
    unnamed: bool  # an input parameter has no name

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(f'{n} {t}' for n, t, _ in self.params)})"


def routines(conn: psycopg.Connection, name: str, schema: str = "public") -> list[Routine]:
    """The functions PostgREST's schema cache holds under this name: input parameters only
    (IN, INOUT, VARIADIC), the last `pronargdefaults` of them optional."""
    rows = conn.execute(
        "SELECT p.oid, p.proname, p.pronargs, p.pronargdefaults, p.proargnames, p.proargmodes, "
        "       ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) t) AS in_types "
        "FROM pg_proc p WHERE p.proname = %s AND p.pronamespace = %s::regnamespace "
        "AND p.prokind = 'f' ORDER BY p.oid",
        (name, schema),
    ).fetchall()
    found = []
    for r in rows:
        names, modes = r["proargnames"] or [], r["proargmodes"]
        # proargnames covers all arguments (OUT/TABLE ones too) when modes are present.
        in_names = (
            [n for i, n in enumerate(names) if modes is None or modes[i] in ("i", "b", "v")]
            if names
            else []
        )
        in_names += [""] * (r["pronargs"] - len(in_names))
        first_optional = r["pronargs"] - r["pronargdefaults"]
        params = tuple(
            (n, t, i < first_optional)
            for i, (n, t) in enumerate(zip(in_names, r["in_types"], strict=True))
        )
        found.append(Routine(r["oid"], r["proname"], params, any(not n for n in in_names)))
    return found


def matches(routine: Routine, keys: set[str]) -> bool:
    """PostgREST's matchesParams (pure)."""
    if not routine.params:
        return not keys
    required = {n for n, _, req in routine.params if req}
    optional = {n for n, _, req in routine.params if not req}
    if not optional:
        return keys == required
    if not required:
        return keys <= optional
    return keys - optional == required


def find_routine(candidates: Sequence[Routine], keys: set[str], name: str) -> Routine:
    chosen = [r for r in candidates if matches(r, keys)]
    if not chosen:
        raise PostgrestError(
            "PGRST202",
            f"Could not find the function public.{name}"
            f"({', '.join(sorted(keys))}) in the schema cache",
        )
    if len(chosen) > 1:
        raise PostgrestError(
            "PGRST203",
            "Could not choose the best candidate function between: "
            + ", ".join(r.signature for r in chosen),
        )
    return chosen[0]


def rpc(conn: psycopg.Connection, name: str, args: Mapping[str, Any]) -> list[dict[str, Any]]:
    routine = find_routine(routines(conn, name), set(args), name)
    types = {n: t for n, t, _ in routine.params}
    call = sql.SQL("SELECT * FROM public.{}({})").format(
        sql.Identifier(name),
        sql.SQL(", ").join(
            sql.SQL("{} => {}::{}").format(
                sql.Identifier(key), sql.Placeholder(), sql.SQL(types[key])
            )
            for key in args
        ),
    )
    return conn.execute(call, [_arg(v) for v in args.values()]).fetchall()


def _arg(value: Any) -> Any:
    # A JSON array (an embedding) reaches the parameter as its text, '[...]'.
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return value


@dataclass(frozen=True)
class Filter:
    column: str
    op: str  # eq, ilike, or: a list of (column, op, value) OR-ed
    value: Any


_OPS = {"eq": "=", "ilike": "ILIKE", "neq": "<>"}


def _where(filters: Sequence[Filter]) -> tuple[sql.Composable, list[Any]]:
    parts, params = [], []
    for f in filters:
        if f.op == "or":
            ors = []
            for column, op, value in f.value:
                ors.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(_OPS[op])))
                params.append(value)
            parts.append(sql.SQL("({})").format(sql.SQL(" OR ").join(ors)))
        else:
            parts.append(sql.SQL("{} {} %s").format(sql.Identifier(f.column), sql.SQL(_OPS[f.op])))
            params.append(f.value)
    if not parts:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts), params


def select(
    conn: psycopg.Connection,
    table: str,
    columns: str,
    filters: Sequence[Filter] = (),
    order: tuple[str, bool] | None = None,
    limit: int | None = None,
    single: bool = False,
) -> list[dict[str, Any]] | dict[str, Any]:
    """`.from(table).select(columns)...`; `single` is `.single()`: exactly one row or PGRST116."""
    cols = [c.strip() for c in columns.split(",") if c.strip()]
    where, params = _where(filters)
    query = (
        sql.SQL("SELECT {} FROM public.{}").format(
            sql.SQL("*") if cols == ["*"] else sql.SQL(", ").join(map(sql.Identifier, cols)),
            sql.Identifier(table),
        )
        + where
    )
    if order:
        query += sql.SQL(" ORDER BY {} {}").format(
            sql.Identifier(order[0]), sql.SQL("ASC" if order[1] else "DESC")
        )
    if limit is not None:
        query += sql.SQL(" LIMIT {}").format(sql.Literal(limit))
    rows = conn.execute(query, params).fetchall()
    if single:
        if len(rows) != 1:
            raise PostgrestError("PGRST116", f"JSON object requested, {len(rows)} rows returned")
        return rows[0]
    return rows


def insert(
    conn: psycopg.Connection, table: str, values: Mapping[str, Any], returning: str = "*"
) -> dict[str, Any]:
    query = sql.SQL("INSERT INTO public.{} ({}) VALUES ({}) RETURNING {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
        sql.SQL("*")
        if returning == "*"
        else sql.SQL(", ").join(sql.Identifier(c.strip()) for c in returning.split(",")),
    )
    return conn.execute(query, [_json(v) for v in values.values()]).fetchone()


def update(
    conn: psycopg.Connection, table: str, values: Mapping[str, Any], filters: Sequence[Filter]
) -> int:
    where, params = _where(filters)
    query = (
        sql.SQL("UPDATE public.{} SET {}").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values),
        )
        + where
    )
    return conn.execute(query, [_json(v) for v in values.values()] + params).rowcount


def _json(value: Any) -> Any:

    return Jsonb(value) if isinstance(value, (dict, list)) else value


@contextmanager
def as_client(conn: psycopg.Connection, role: str, sub: Any = None) -> Iterator[psycopg.Connection]:
    """One request: PostgREST's transaction with the JWT's role and claims (rolled back)."""
    claims = {"role": role, **({"sub": str(sub)} if sub else {})}
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        yield conn
