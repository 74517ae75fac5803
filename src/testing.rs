//! Helpers for the unit tests: a real, migrated tenant database in a temp dir.

/// A migrated tenant database in a temp dir with its company row, for unit tests that read
/// query plans (`EXPLAIN QUERY PLAN`) or run store functions on a real schema.
pub fn test_tenant_database() -> (rusqlite::Connection, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tenant.db");
    let settings = crate::db::DbSettings {
        synchronous: "NORMAL".into(),
        readers: 1,
        wal_autocheckpoint: 1000,
    };
    crate::db::prepare_file(&path, crate::db::Schema::Tenant, &settings).expect("migrated tenant database");
    let conn = rusqlite::Connection::open(&path).expect("open");
    crate::db::configure(&conn, &settings).expect("configure");
    crate::company::store::insert(&conn, "plans", "Plans", "America/Sao_Paulo").expect("company");
    (conn, dir)
}

/// The details of `EXPLAIN QUERY PLAN <sql>`, parameters unbound (without ANALYZE
/// statistics, as in production, the plan does not depend on their values).
pub fn query_plan(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut statement = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut rows = statement.raw_query();
    let mut details = Vec::new();
    while let Some(row) = rows.next().expect("plan row") {
        details.push(row.get::<_, String>(3).expect("plan detail"));
    }
    details
}
