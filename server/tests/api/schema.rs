//! The two migration folders describe one schema: the same tables, columns, nullability,
//! primary keys and indexes, read back from SQLite (`pragma_table_info`, `pragma_index_list`)
//! and PostgreSQL (`information_schema`, `pg_index`) after every migration has run. Types
//! differ by design (`BLOB`/`BYTEA`, `TEXT`/`TIMESTAMPTZ`…) and are not compared.

use std::collections::BTreeSet;

use portico::config::DatabaseTarget;
use portico::db::{Db, Pool};

/// `(table, column, nullable)`.
type Column = (String, String, bool);
/// `(table, name — none for one a constraint made, columns in order, unique, partial)`.
type Index = (String, Option<String>, Vec<String>, bool, bool);

#[derive(Debug, Default, PartialEq)]
struct Schema {
    tables: BTreeSet<String>,
    columns: BTreeSet<Column>,
    /// `(table, columns in key order)`.
    primary_keys: BTreeSet<(String, Vec<String>)>,
    indexes: BTreeSet<Index>,
}

#[tokio::test]
async fn the_sqlite_and_postgresql_migrations_make_the_same_schema() {
    let Some(url) = crate::support::fresh_postgres_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("schema.db").display());
    let sqlite = Db::connect(&DatabaseTarget::Sqlite { url: sqlite_url }).await.unwrap();
    sqlite.migrate().await.unwrap();
    let postgres = Db::connect(&DatabaseTarget::Postgres { url }).await.unwrap();
    postgres.migrate().await.unwrap();

    let (sqlite_schema, postgres_schema) = (read(&sqlite).await, read(&postgres).await);
    assert!(sqlite_schema.tables.len() >= 20, "read too few tables: {:?}", sqlite_schema.tables);
    assert!(sqlite_schema.indexes.iter().any(|i| i.1.as_deref() == Some("links_live_slug") && i.3 && i.4));
    let differences = [
        ("tables", diff(&sqlite_schema.tables, &postgres_schema.tables)),
        ("columns (table, column, nullable)", diff(&sqlite_schema.columns, &postgres_schema.columns)),
        ("primary keys", diff(&sqlite_schema.primary_keys, &postgres_schema.primary_keys)),
        (
            "indexes (table, name, columns, unique, partial)",
            diff(&sqlite_schema.indexes, &postgres_schema.indexes),
        ),
    ];
    let report: Vec<String> =
        differences.iter().filter(|(_, d)| !d.is_empty()).map(|(what, d)| format!("{what}:\n{d}")).collect();
    assert!(report.is_empty(), "the migrations disagree\n{}", report.join("\n"));
    sqlite.close().await;
    postgres.close().await;
}

/// What is in one set and not the other, one line each.
fn diff<T: Ord + std::fmt::Debug>(sqlite: &BTreeSet<T>, postgres: &BTreeSet<T>) -> String {
    let only = |a: &BTreeSet<T>, b: &BTreeSet<T>, side: &str| {
        a.difference(b).map(|x| format!("  only on {side}: {x:?}")).collect::<Vec<_>>()
    };
    [only(sqlite, postgres, "SQLite"), only(postgres, sqlite, "PostgreSQL")].concat().join("\n")
}

async fn read(db: &Db) -> Schema {
    match db.pool() {
        Pool::Sqlite(pool) => read_sqlite(pool).await,
        Pool::Postgres(pool) => read_postgres(pool).await,
    }
}

async fn read_sqlite(pool: &sqlx::SqlitePool) -> Schema {
    const TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name";
    const COLUMNS: &str = "SELECT name, \"notnull\", pk FROM pragma_table_info($1)";
    const INDEXES: &str = "SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)";
    const INDEX_COLUMNS: &str = "SELECT name FROM pragma_index_info($1) ORDER BY seqno";
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(TABLES).fetch_all(pool).await.unwrap();
    for table in tables {
        let columns: Vec<(String, bool, i64)> =
            sqlx::query_as(COLUMNS).bind(&table).fetch_all(pool).await.unwrap();
        let mut key: Vec<(i64, String)> = Vec::new();
        for (column, not_null, pk) in columns {
            // A primary key column is never null (SQLite only says so for INTEGER ones).
            schema.columns.insert((table.clone(), column.clone(), !not_null && pk == 0));
            if pk > 0 {
                key.push((pk, column));
            }
        }
        key.sort();
        if !key.is_empty() {
            schema.primary_keys.insert((table.clone(), key.into_iter().map(|(_, c)| c).collect()));
        }
        let indexes: Vec<(String, bool, String, bool)> =
            sqlx::query_as(INDEXES).bind(&table).fetch_all(pool).await.unwrap();
        for (name, unique, origin, partial) in indexes {
            if origin == "pk" {
                continue;
            }
            let columns: Vec<String> =
                sqlx::query_scalar(INDEX_COLUMNS).bind(&name).fetch_all(pool).await.unwrap();
            let name = (origin == "c").then_some(name);
            schema.indexes.insert((table.clone(), name, columns, unique, partial));
        }
        schema.tables.insert(table);
    }
    schema
}

async fn read_postgres(pool: &sqlx::PgPool) -> Schema {
    const COLUMNS: &str = "SELECT table_name::TEXT, column_name::TEXT, is_nullable = 'YES' FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'";
    const INDEXES: &str = "SELECT t.relname::TEXT, i.relname::TEXT, \
         NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid), \
         ARRAY(SELECT a.attname::TEXT FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), \
         ix.indisunique, ix.indpred IS NOT NULL, ix.indisprimary \
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND t.relname <> '_sqlx_migrations'";
    let mut schema = Schema::default();
    let columns: Vec<(String, String, bool)> = sqlx::query_as(COLUMNS).fetch_all(pool).await.unwrap();
    for (table, column, nullable) in columns {
        schema.tables.insert(table.clone());
        schema.columns.insert((table, column, nullable));
    }
    type Row = (String, String, bool, Vec<String>, bool, bool, bool);
    let indexes: Vec<Row> = sqlx::query_as(INDEXES).fetch_all(pool).await.unwrap();
    for (table, name, own, columns, unique, partial, primary) in indexes {
        if primary {
            schema.primary_keys.insert((table, columns));
        } else {
            schema.indexes.insert((table, own.then_some(name), columns, unique, partial));
        }
    }
    schema
}
