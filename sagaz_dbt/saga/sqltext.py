"""Reading and rewriting SQL text with sqlglot (never regular expressions over SQL).

sqlglot is imported on first use: most runs never rewrite SQL (no indexes to recreate, no
Postgres views to re-point), and the import is a tenth of a second of every start.
"""

from __future__ import annotations


def qualify_ddl(ddl: str, database: str, schema: str, dialect: str) -> str:
    """`CREATE INDEX i ON t(c)` or `CREATE TABLE s.t(... REFERENCES s.p(id))` as the catalog
    reports it, with every table fully qualified, so it recreates the object on the right
    tables whatever the session's search path and default catalog."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(ddl, dialect=dialect)
    for table in tree.find_all(exp.Table):
        _qualify(table, database, schema)
    return tree.sql(dialect=dialect)


def _qualify(table: object, database: str, schema: str) -> None:
    """A sqlglot Table, fully qualified and quoted (its missing parts: `database.schema`)."""
    from sqlglot import exp

    assert isinstance(table, exp.Table)
    if not table.args.get("db"):
        table.set("db", exp.to_identifier(schema, quoted=True))
    if not table.args.get("catalog"):
        table.set("catalog", exp.to_identifier(database, quoted=True))
    table.set("this", exp.to_identifier(table.name, quoted=True))


def qualify_created(ddl: str, database: str, schema: str, dialect: str) -> str:
    """`CREATE VIEW v AS ...` as the catalog reports it (DuckDB leaves out the catalog, and
    the schema when it is `main`), with only the created relation's name fully qualified:
    the body stays as the engine bound it (a CTE's name must stay unqualified)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(ddl, dialect=dialect)
    created = tree.this
    if isinstance(created, exp.Schema):
        created = created.this
    if not isinstance(tree, exp.Create) or not isinstance(created, exp.Table):
        raise ValueError(f"not a CREATE statement: {ddl[:80]!r}")
    _qualify(created, database, schema)
    return tree.sql(dialect=dialect)


def repoint_view(
    definition: str, schema: str, old_name: str, new_name: str, dialect: str, new_schema: str | None = None
) -> str:
    """A view's SELECT with every reference to `schema.old_name` pointed at
    `new_schema.new_name` (`schema.new_name` without `new_schema`).

    Postgres prints a view's definition with the names of the relations its OIDs point to;
    after dbt renamed a table to our backup name, that name is the backup's.  Column
    qualifiers that use the bare table name are rewritten with it.
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(definition, dialect=dialect)
    renamed_unaliased = False
    for table in tree.find_all(exp.Table):
        if table.name != old_name:
            continue
        if table.db and table.db != schema:
            continue
        table.set("this", exp.to_identifier(new_name, quoted=True))
        if new_schema is not None and new_schema != schema:
            table.set("db", exp.to_identifier(new_schema, quoted=True))
        if not table.alias:
            renamed_unaliased = True
    if renamed_unaliased:
        for column in tree.find_all(exp.Column):
            if column.table == old_name:
                column.set("table", exp.to_identifier(new_name, quoted=True))
    return tree.sql(dialect=dialect)



def view_select_renamed(create_sql: str, renames: dict[str, str], dialect: str) -> str:
    """The SELECT of a `CREATE VIEW name AS SELECT ...` statement, as the catalog prints it,
    with every identifier that is a key of `renames` replaced by its value (quoted).

    The text is changed token by token (sqlglot's tokenizer: string literals and comments
    are not identifiers), so everything else stays as the engine printed it: re-created from
    it, the view's stored SQL is the one the engine stores for the view dbt would have made,
    where a round trip through sqlglot's generator rewrites functions and casts.  The keys
    are sagaz-dbt's shadow names, unique per run, so the match is by name alone."""
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    tokens = Dialect.get_or_raise(dialect).tokenize(create_sql)
    depth, body = 0, None
    for token in tokens:  # the body starts after the first AS outside parentheses
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif token.token_type == TokenType.ALIAS and depth == 0:
            body = token.end + 1
            break
    if body is None:
        raise ValueError(f"not a CREATE VIEW ... AS statement: {create_sql[:200]}")
    pieces, pos = [], body
    for token in tokens:
        if token.start < body or token.token_type not in (TokenType.VAR, TokenType.IDENTIFIER):
            continue
        if token.text in renames:
            pieces.append(create_sql[pos : token.start])
            pieces.append(exp.to_identifier(renames[token.text], quoted=True).sql(dialect=dialect))
            pos = token.end + 1
    pieces.append(create_sql[pos:])
    return "".join(pieces).strip().rstrip(";").rstrip()
