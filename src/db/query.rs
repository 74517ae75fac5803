//! The SQL of lists (SPEC §2.5): a whitelisted ORDER BY with its page window, WHERE
//! conditions with their parameters, date ranges on a time column, and the query that
//! fetches one page plus the total. Every list sorts by its key and then by `id`, so
//! pages never repeat or skip rows. The HTTP side (`crate::http::pagination`) only reads
//! the request's parameters.

use std::ops::Range;
use std::sync::Arc;

use chrono::{Days, Duration, NaiveDate};
use chrono_tz::Tz;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params_from_iter};
use serde::Serialize;
use utoipa::ToSchema;

use super::totals::{ORDER_KEPT_MAX, Totals};
use crate::error::{ApiError, FieldErrors};
use crate::time::{self, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    fn sql(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

/// What a resource allows to sort by: API names mapped to SQL expressions, the default
/// key and order, and the default page size.
pub struct SortSpec {
    pub columns: &'static [(&'static str, &'static str)],
    pub default_key: &'static str,
    pub default_order: SortOrder,
    pub default_page_size: i64,
    /// The unique column that breaks ties, qualified when the list joins (`users.id`).
    pub tie_breaker: &'static str,
}

/// A checked ORDER BY plus the page window; only obtainable through [`Order::checked`]
/// (the API's `Paging::order`), so no unchecked text reaches the SQL.
#[derive(Debug, Clone)]
pub struct Order {
    clause: String,
    page: i64,
    page_size: i64,
}

impl Order {
    /// Checks `sort_by` and `sort_order` against `spec` → 422 naming the parameter. `None`
    /// takes the resource's default key, order and page size.
    pub fn checked(
        spec: &SortSpec,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        page: i64,
        page_size: Option<i64>,
    ) -> Result<Order, ApiError> {
        let mut errors = FieldErrors::new();
        let key = sort_by.unwrap_or(spec.default_key);
        let expression = spec.columns.iter().find(|(name, _)| *name == key).map(|(_, sql)| *sql);
        if expression.is_none() {
            errors.add("sort_by", "is invalid");
        }
        let direction = match sort_order {
            None => spec.default_order,
            Some(order) if order.eq_ignore_ascii_case("asc") => SortOrder::Asc,
            Some(order) if order.eq_ignore_ascii_case("desc") => SortOrder::Desc,
            Some(_) => {
                errors.add("sort_order", "is invalid");
                spec.default_order
            }
        };
        errors.into_result()?;
        Ok(Order {
            clause: format!(
                "{} {dir}, {} {dir}",
                expression.unwrap_or(spec.tie_breaker),
                spec.tie_breaker,
                dir = direction.sql()
            ),
            page,
            page_size: page_size.unwrap_or(spec.default_page_size),
        })
    }

    /// How many rows of the list come before this page.
    fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }
}

/// WHERE conditions with their parameters, built up by a list's filters.
#[derive(Debug, Default)]
pub struct Filter {
    conditions: Vec<String>,
    params: Vec<SqlValue>,
}

impl Filter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a condition written with one `?` per value, in order.
    pub fn push(&mut self, condition: &str, values: impl IntoIterator<Item = SqlValue>) {
        self.conditions.push(format!("({condition})"));
        self.params.extend(values);
    }

    /// Case-insensitive substring match of `term` against any of `columns`; `%` and `_`
    /// in the term match themselves (SPEC §2.5).
    pub fn search(&mut self, columns: &[&str], term: Option<&str>) {
        let Some(term) = term.map(str::trim).filter(|t| !t.is_empty()) else {
            return;
        };
        let needle = term.to_lowercase();
        let condition = columns
            .iter()
            .map(|c| format!("instr(casefold(coalesce({c}, '')), ?) > 0"))
            .collect::<Vec<_>>()
            .join(" OR ");
        self.push(&condition, columns.iter().map(|_| SqlValue::Text(needle.clone())));
    }

    /// `WHERE …` (empty without conditions), for queries the helpers below do not cover
    /// (grouped reports, streamed exports); bind [`Filter::params`] to it.
    pub fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }

    /// The values of the `?` in [`Filter::where_clause`], in order.
    pub fn params(&self) -> &[SqlValue] {
        &self.params
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    pub current_page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    pub total_count: i64,
}

impl PageMeta {
    /// The meta of `order`'s page of a list of `total_count` rows.
    pub fn of(order: &Order, total_count: i64) -> PageMeta {
        PageMeta {
            current_page: order.page,
            page_size: order.page_size,
            total_pages: ((total_count + order.page_size - 1) / order.page_size).max(1),
            total_count,
        }
    }
}

/// `{"data": [...], "meta": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub meta: PageMeta,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            meta: self.meta,
        }
    }
}

/// Runs one page of a list and its total, from one read snapshot.
///
/// `from` is the listed table with its alias, then the joins that add columns to its rows
/// (`appointments a JOIN departments d ON d.id = a.department_id …`). Every join must be
/// to-one — an inner join along a NOT NULL foreign key, or a LEFT JOIN on a primary key —
/// so that it never changes which rows are listed or how many. Then the COUNT and the
/// query that picks the page's rows keep only the joins their conditions and order
/// mention (none, for a filter on the listed table: both then read one index range, the
/// page in index order), and the columns are joined to the page's rows only (a deferred
/// join): skipping `OFFSET` rows costs index steps, not joins. Listed tables have a
/// `rowid` (no `WITHOUT ROWID`). While nothing is committed, a list of up to
/// [`ORDER_KEPT_MAX`] rows reads its whole order once and cuts its pages from it.
pub fn fetch_page<T>(
    conn: &Connection,
    columns: &str,
    from: &str,
    filter: &Filter,
    order: &Order,
    mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Page<T>, ApiError> {
    let where_clause = filter.where_clause();
    // Bound as `LIMIT +?`: SQLite reads a plain bound LIMIT when planning, so each new
    // page size or offset would compile the cached statement again (up to a fifth of a
    // page's SQL time); it does not read an expression.
    let window = [SqlValue::Integer(order.page_size), SqlValue::Integer(order.offset())];
    // Count, page and rows see the same data even while the tenant's writer commits.
    let _snapshot = snapshot(conn)?;
    let source = Source::parse(from);
    if let (Some(source), Some((totals, before))) = (&source, Totals::noted())
        && let Some(KeptPage {
            order: ids,
            page,
            read_here,
        }) = kept_order(conn, source, &where_clause, filter, order, (&totals, before))?
    {
        let data = rows_in_order(conn, columns, from, source.alias, &ids[page], &mut map)?;
        // An order kept from an earlier read is answered before any statement opened
        // this one's snapshot: the rows are of its data only if nothing was committed
        // meanwhile.
        if read_here || totals.unchanged(before) {
            return Ok(Page {
                data,
                meta: PageMeta::of(order, ids.len() as i64),
            });
        }
    }
    let data = match source.as_ref().filter(|source| !source.joins.is_empty()) {
        Some(source) => {
            let ids_sql = format!("{} OFFSET ?", rowids_sql(source, &where_clause, order));
            let ids = prepare(conn, &ids_sql)?
                .query_map(params_from_iter(filter.params.iter().chain(&window)), |row| {
                    row.get::<_, i64>(0)
                })?
                .collect::<Result<Vec<i64>, _>>()?;
            rows_in_order(conn, columns, from, source.alias, &ids, map)?
        }
        None => {
            let sql = format!(
                "SELECT {columns} FROM {from} {where_clause} ORDER BY {} LIMIT +? OFFSET ?",
                order.clause
            );
            prepare(conn, &sql)?
                .query_map(params_from_iter(filter.params.iter().chain(&window)), &mut map)?
                .collect::<Result<Vec<T>, _>>()?
        }
    };
    let count_from = source
        .as_ref()
        .map_or_else(|| from.to_string(), |source| source.narrowed(&[&where_clause]));
    let count_sql = format!("SELECT count(*) FROM {count_from} {where_clause}");
    let count = || prepare(conn, &count_sql)?.query_row(params_from_iter(filter.params.iter()), |row| row.get(0));
    // After the page's statements: the snapshot is open, so the total kept for it is known.
    let total_count: i64 = match Totals::noted() {
        Some((totals, before)) => totals.count(before, &count_sql, &filter.params, count)?,
        None => count()?,
    };
    Ok(Page {
        data,
        meta: PageMeta::of(order, total_count),
    })
}

/// The list's whole order, read once and kept while nothing is committed
/// ([`Totals::order`]), with the window of it that `order`'s page shows; `None` for a
/// list too long to keep.
fn kept_order(
    conn: &Connection,
    source: &Source<'_>,
    where_clause: &str,
    filter: &Filter,
    order: &Order,
    (totals, before): (&Totals, u64),
) -> Result<Option<KeptPage>, ApiError> {
    let order_sql = rowids_sql(source, where_clause, order);
    let read = || {
        let longest = SqlValue::Integer(ORDER_KEPT_MAX as i64 + 1);
        let ids = prepare(conn, &order_sql)?
            .query_map(params_from_iter(filter.params.iter().chain([&longest])), |row| {
                row.get::<_, i64>(0)
            })?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok((ids.len() <= ORDER_KEPT_MAX).then_some(ids))
    };
    let listed = totals.order(before, &order_sql, &filter.params, read)?;
    let Some(ids) = listed.ids else {
        return Ok(None);
    };
    let length = ids.len();
    let start = usize::try_from(order.offset()).unwrap_or(usize::MAX).min(length);
    let end = start
        .saturating_add(usize::try_from(order.page_size).unwrap_or(0))
        .min(length);
    Ok(Some(KeptPage {
        order: ids,
        page: start..end,
        read_here: listed.read_here,
    }))
}

/// The rowids of the list in its order, up to a bound `LIMIT +?`: with only the joins
/// its conditions and order mention.
fn rowids_sql(source: &Source<'_>, where_clause: &str, order: &Order) -> String {
    format!(
        "SELECT {alias}.rowid FROM {picked_from} {where_clause} ORDER BY {} LIMIT +?",
        order.clause,
        alias = source.alias,
        picked_from = source.narrowed(&[where_clause, &order.clause]),
    )
}

/// A list's kept order and the window of it one page shows.
struct KeptPage {
    order: Arc<[i64]>,
    page: Range<usize>,
    /// The order was read in this read's snapshot, not kept from an earlier one.
    read_here: bool,
}

/// What `read` returns for `key` (its statements and values): kept while nothing is
/// committed, in a read whose snapshot was opened by [`snapshot`] (see [`Totals::keep`]),
/// else read each time. For what a list reads beside its rows, after its first statement.
pub fn kept<T: Send + Sync + 'static>(
    key: &str,
    read: impl FnOnce() -> rusqlite::Result<T>,
) -> Result<Arc<T>, ApiError> {
    Ok(match Totals::noted() {
        Some((totals, before)) => totals.keep(before, key, read)?,
        None => Arc::new(read()?),
    })
}

/// A read transaction that holds one snapshot of the file until dropped, unless `conn`
/// is already in one (then that one holds it). The write generation is noted before it
/// opens, so the lists it runs may use the totals kept for it ([`Totals`]).
pub fn snapshot(conn: &Connection) -> Result<Snapshot<'_>, ApiError> {
    if !conn.is_autocommit() {
        return Ok(Snapshot {
            open: None,
            noted: false,
        });
    }
    let noted = Totals::note_generation();
    // Cached statements: `BEGIN` and `ROLLBACK` compiled for each list were a hundredth
    // of its time.
    if let Err(err) = conn.prepare_cached("BEGIN").and_then(|mut begin| begin.execute([])) {
        if noted {
            Totals::forget_generation();
        }
        return Err(err.into());
    }
    Ok(Snapshot {
        open: Some(conn),
        noted,
    })
}

/// See [`snapshot`].
pub struct Snapshot<'c> {
    /// The connection whose read transaction this is, ended on drop.
    open: Option<&'c Connection>,
    noted: bool,
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.open.take()
            && conn
                .prepare_cached("ROLLBACK")
                .and_then(|mut end| end.execute([]))
                .is_err()
        {
            // A connection must not go back to its pool inside a transaction.
            let _ = conn.execute_batch("ROLLBACK");
        }
        if self.noted {
            Totals::forget_generation();
        }
    }
}

/// The rows of `from` whose `alias.rowid` is in `ids`, mapped, in the order of `ids`.
/// The ids drive the join (one rowid lookup each, in their order): an `IN (…)` would
/// first copy them into a temporary table, built and dropped for each page.
fn rows_in_order<T>(
    conn: &Connection,
    columns: &str,
    from: &str,
    alias: &str,
    ids: &[i64],
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = format!("[{}]", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
    let sql = format!(
        "SELECT {columns} FROM json_each(?1) kept CROSS JOIN {from} \
         WHERE {alias}.rowid = kept.value ORDER BY kept.rowid"
    );
    Ok(prepare(conn, &sql)?
        .query_map([list], map)?
        .collect::<Result<Vec<T>, _>>()?)
}

/// A cached statement; in unit tests, its text is also recorded for the query-plan tests.
fn prepare<'c>(conn: &'c Connection, sql: &str) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    #[cfg(test)]
    record(sql);
    conn.prepare_cached(sql)
}

/// A list's `from`: the listed table and the joins that add columns to its rows.
struct Source<'a> {
    /// `appointments a`.
    table: &'a str,
    alias: &'a str,
    joins: Vec<Join<'a>>,
}

/// `[LEFT] JOIN <table> <alias> ON …`.
struct Join<'a> {
    alias: &'a str,
    clause: &'a str,
}

impl<'a> Source<'a> {
    /// `None` for anything but `<table> <alias> [[LEFT] JOIN <table> <alias> ON …]…`.
    fn parse(from: &'a str) -> Option<Source<'a>> {
        let from = from.trim();
        if from.contains('(') || from.contains(',') {
            return None;
        }
        let mut words: Vec<(usize, &str)> = Vec::new();
        let mut start = None;
        for (at, c) in from.char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(begun)) => {
                    words.push((begun, &from[begun..at]));
                    start = None;
                }
                (false, None) => start = Some(at),
                _ => {}
            }
        }
        if let Some(begun) = start {
            words.push((begun, &from[begun..]));
        }
        let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
        // Each join starts at its JOIN keyword or at the LEFT / INNER / OUTER / CROSS before it.
        let mut starts = Vec::new();
        for (index, (_, word)) in words.iter().enumerate() {
            if is(word, "JOIN") {
                let mut first = index;
                while first > 0
                    && ["LEFT", "INNER", "OUTER", "CROSS"]
                        .iter()
                        .any(|k| is(words[first - 1].1, k))
                {
                    first -= 1;
                }
                let alias = words.get(index + 2).map(|(_, w)| *w).filter(|w| !is(w, "ON"))?;
                starts.push((words[first].0, alias));
            }
        }
        let table_end = starts.first().map_or(from.len(), |(at, _)| *at);
        let table = from[..table_end].trim_end();
        let [_, alias] = table.split_whitespace().collect::<Vec<_>>()[..] else {
            return None;
        };
        let joins = starts
            .iter()
            .enumerate()
            .map(|(index, (at, alias))| {
                let end = starts.get(index + 1).map_or(from.len(), |(next, _)| *next);
                Join {
                    alias,
                    clause: from[*at..end].trim_end(),
                }
            })
            .collect();
        Some(Source { table, alias, joins })
    }

    /// The table with only the joins that `sql` needs: those whose alias it mentions, and
    /// those that the ON clauses of these mention in turn.
    fn narrowed(&self, sql: &[&str]) -> String {
        let mut needed: Vec<bool> = self
            .joins
            .iter()
            .map(|join| sql.iter().any(|text| mentions(text, join.alias)))
            .collect();
        loop {
            let mut grew = false;
            for (index, join) in self.joins.iter().enumerate() {
                if !needed[index]
                    && self
                        .joins
                        .iter()
                        .zip(&needed)
                        .any(|(other, used)| *used && mentions(other.clause, join.alias))
                {
                    needed[index] = true;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let mut narrowed = self.table.to_string();
        for (join, used) in self.joins.iter().zip(needed) {
            if used {
                narrowed.push(' ');
                narrowed.push_str(join.clause);
            }
        }
        narrowed
    }
}

/// Whether `sql` refers to a column of `alias` (`alias.` not preceded by a name character).
fn mentions(sql: &str, alias: &str) -> bool {
    let pattern = format!("{alias}.");
    sql.match_indices(&pattern).any(|(at, _)| {
        sql[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
    })
}

/// The aliases joined in the list source `from` that `conditions` do not mention (for the
/// query-plan tests: a COUNT should join none of them).
#[cfg(test)]
pub fn unneeded_joins<'a>(from: &'a str, conditions: &str) -> Vec<&'a str> {
    let source = Source::parse(from).expect("a list source");
    source
        .joins
        .iter()
        .map(|join| join.alias)
        .filter(|alias| !mentions(conditions, alias))
        .collect()
}

/// Runs `SELECT {columns} FROM {from} {filter}` for one row, e.g. the aggregates of a
/// statistics endpoint over the same filters as its list.
pub fn fetch_one<T>(
    conn: &Connection,
    columns: &str,
    from: &str,
    filter: &Filter,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<T, ApiError> {
    let sql = format!("SELECT {columns} FROM {from} {}", filter.where_clause());
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(filter.params.iter()), map)?)
}

#[cfg(test)]
thread_local! {
    static RECORDED: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
fn record(sql: &str) {
    RECORDED.with(|recorded| {
        if let Some(statements) = recorded.borrow_mut().as_mut() {
            statements.push(sql.to_string());
        }
    });
}

/// The list statements `run` prepares (for the query-plan tests).
#[cfg(test)]
pub fn statements_of(run: impl FnOnce()) -> Vec<String> {
    RECORDED.with(|recorded| *recorded.borrow_mut() = Some(Vec::new()));
    run();
    RECORDED.with(|recorded| recorded.borrow_mut().take().unwrap_or_default())
}

/// One end of a range as the client wrote it; the time zone is applied later, inside the
/// database call that knows the company.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Day(NaiveDate),
    Instant(Timestamp),
}

/// A checked `date_from` / `date_to` pair.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DateRange {
    from: Option<Bound>,
    to: Option<Bound>,
}

impl DateRange {
    /// Checks the syntax of both parameters; a value that is neither a date nor an RFC 3339
    /// instant is a query parameter of the wrong type → 400 naming it. Empty means absent.
    pub fn parse(date_from: Option<&str>, date_to: Option<&str>) -> Result<DateRange, ApiError> {
        Ok(DateRange {
            from: parse_bound("date_from", date_from)?,
            to: parse_bound("date_to", date_to)?,
        })
    }

    /// The UTC bounds in `zone`: `from` inclusive, `until` exclusive.
    pub fn bounds(&self, zone: Tz) -> (Option<Timestamp>, Option<Timestamp>) {
        let from = self.from.map(|bound| match bound {
            Bound::Day(day) => time::start_of_day(zone, day),
            Bound::Instant(at) => at,
        });
        let until = self.to.map(|bound| match bound {
            Bound::Day(day) => time::start_of_day(zone, day.succ_opt().unwrap_or(day)),
            // Stored times have whole seconds: "up to and including `at`".
            Bound::Instant(at) => at + Duration::seconds(1),
        });
        (from, until)
    }

    /// The range with its missing ends filled, for reports that look back by default:
    /// `date_from` becomes the local day `days` days before today, `date_to` today.
    pub fn or_last_days(self, days: u64, zone: Tz) -> DateRange {
        let today = time::now().with_timezone(&zone).date_naive();
        let first = today.checked_sub_days(Days::new(days)).unwrap_or(today);
        DateRange {
            from: self.from.or(Some(Bound::Day(first))),
            to: self.to.or(Some(Bound::Day(today))),
        }
    }

    /// Both UTC bounds `[from, until)`, when both ends are known (see
    /// [`DateRange::or_last_days`]).
    pub fn span(&self, zone: Tz) -> Option<(Timestamp, Timestamp)> {
        match self.bounds(zone) {
            (Some(from), Some(until)) => Some((from, until)),
            _ => None,
        }
    }

    /// Whether an end is a date, so applying the range needs the company's time zone.
    pub fn has_dates(&self) -> bool {
        matches!(self.from, Some(Bound::Day(_))) || matches!(self.to, Some(Bound::Day(_)))
    }

    /// Adds `column >= from AND column < until` to `filter`, reading dates in `zone`.
    pub fn restrict(&self, filter: &mut Filter, column: &str, zone: Tz) {
        let (from, until) = self.bounds(zone);
        if let Some(from) = from {
            filter.push(&format!("{column} >= ?"), [SqlValue::Text(time::format(from))]);
        }
        if let Some(until) = until {
            filter.push(&format!("{column} < ?"), [SqlValue::Text(time::format(until))]);
        }
    }
}

fn parse_bound(name: &str, value: Option<&str>) -> Result<Option<Bound>, ApiError> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(Bound::Day(day)));
    }
    time::parse(text).map(|at| Some(Bound::Instant(at))).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "Invalid query parameters: {name} must be a date (YYYY-MM-DD) or an RFC 3339 time"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::{Filter, Order, SortOrder, SortSpec, Source, fetch_page, mentions, statements_of};

    #[test]
    fn a_list_source_is_its_table_then_its_joins() {
        let source = Source::parse(
            "appointments a JOIN departments d ON d.id = a.department_id \
             JOIN users u ON u.id = a.user_id LEFT JOIN service_providers p ON p.id = u.provider_id",
        )
        .expect("parsed");
        assert_eq!((source.table, source.alias), ("appointments a", "a"));
        let aliases: Vec<&str> = source.joins.iter().map(|join| join.alias).collect();
        assert_eq!(aliases, ["d", "u", "p"]);
        assert_eq!(
            source.joins[2].clause,
            "LEFT JOIN service_providers p ON p.id = u.provider_id"
        );
        assert!(Source::parse("customers c").expect("parsed").joins.is_empty());
        assert!(Source::parse("(SELECT 1) x").is_none());
        assert!(Source::parse("webhooks").is_none());
    }

    #[test]
    fn a_count_or_a_page_keeps_only_the_joins_its_conditions_need() {
        let source = Source::parse(
            "appointments a JOIN departments d ON d.id = a.department_id \
             JOIN users u ON u.id = a.user_id LEFT JOIN service_providers p ON p.id = u.provider_id",
        )
        .expect("parsed");
        assert_eq!(source.narrowed(&["WHERE (a.user_id = ?)"]), "appointments a");
        assert_eq!(
            source.narrowed(&["WHERE (p.name = ?)", "a.id ASC"]),
            "appointments a JOIN users u ON u.id = a.user_id LEFT JOIN service_providers p ON p.id = u.provider_id"
        );
        assert_eq!(
            source.narrowed(&["", "d.name ASC"]),
            "appointments a JOIN departments d ON d.id = a.department_id"
        );
    }

    #[test]
    fn a_page_statement_is_prepared_once_whatever_its_page_size() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory db");
        conn.execute_batch(
            "CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL);
             CREATE INDEX items_n ON items (n, id);
             WITH RECURSIVE k(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM k WHERE v < 300)
             INSERT INTO items SELECT printf('%04d', v), v % 7 FROM k;",
        )
        .expect("table");
        const SORT: SortSpec = SortSpec {
            columns: &[("n", "i.n")],
            default_key: "n",
            default_order: SortOrder::Asc,
            default_page_size: 20,
            tie_breaker: "i.id",
        };
        let statements = statements_of(|| {
            for (page, size) in [(1, 20), (3, 5), (2, 50), (7, 1)] {
                let order = Order::checked(&SORT, None, None, page, Some(size)).expect("order");
                let listed = fetch_page(&conn, "i.id", "items i", &Filter::new(), &order, |row| {
                    row.get::<_, String>(0)
                })
                .expect("page");
                assert_eq!(listed.data.len(), size as usize);
            }
        });
        // A bound LIMIT the planner reads makes SQLite compile the statement again each
        // time the value changes; `LIMIT +?` is an expression it does not read.
        for sql in statements.iter().filter(|sql| sql.contains("LIMIT")) {
            let statement = conn.prepare_cached(sql).expect("cached");
            assert_eq!(statement.get_status(rusqlite::StatementStatus::RePrepare), 0, "{sql}");
            assert_eq!(statement.get_status(rusqlite::StatementStatus::Run), 4, "{sql}");
        }
    }

    #[test]
    fn an_alias_is_mentioned_only_as_a_column_qualifier() {
        assert!(mentions("WHERE (u.provider_id = ?)", "u"));
        assert!(mentions("cu.name COLLATE NOCASE ASC", "cu"));
        assert!(!mentions("cu.name COLLATE NOCASE ASC", "u"));
        assert!(!mentions("WHERE (a.status = ?)", "d"));
    }
}

#[cfg(test)]
mod date_tests {
    use chrono::Days;

    use super::*;
    use crate::time::start_of_day;

    fn utc(text: &str) -> Timestamp {
        time::parse(text).unwrap()
    }

    #[test]
    fn a_bare_date_to_includes_the_whole_local_day() {
        let range = DateRange::parse(Some("2030-05-20"), Some("2030-05-20")).unwrap();
        let (from, until) = range.bounds(chrono_tz::America::Sao_Paulo);
        assert_eq!(from, Some(utc("2030-05-20T03:00:00Z")));
        assert_eq!(until, Some(utc("2030-05-21T03:00:00Z")));
    }

    #[test]
    fn the_day_of_a_dst_change_has_its_real_length() {
        // New York springs forward on 10 March 2030: that local day lasts 23 hours.
        let range = DateRange::parse(Some("2030-03-10"), Some("2030-03-10")).unwrap();
        let (from, until) = range.bounds(chrono_tz::America::New_York);
        assert_eq!(from, Some(utc("2030-03-10T05:00:00Z")));
        assert_eq!(until, Some(utc("2030-03-11T04:00:00Z")));
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_the_first_local_time() {
        // São Paulo skipped 00:00–01:00 on 4 November 2018 (its last DST start).
        let start = start_of_day(
            chrono_tz::America::Sao_Paulo,
            NaiveDate::from_ymd_opt(2018, 11, 4).unwrap(),
        );
        assert_eq!(start, utc("2018-11-04T03:00:00Z"));
    }

    #[test]
    fn instants_keep_their_offset_and_date_to_includes_its_second() {
        let range = DateRange::parse(Some("2030-05-20T10:00:00-03:00"), Some("2030-05-20T12:00:00Z")).unwrap();
        let (from, until) = range.bounds(chrono_tz::UTC);
        assert_eq!(from, Some(utc("2030-05-20T13:00:00Z")));
        assert_eq!(until, Some(utc("2030-05-20T12:00:01Z")));
    }

    #[test]
    fn missing_ends_default_to_the_last_days_up_to_the_end_of_today() {
        let zone = chrono_tz::America::Sao_Paulo;
        let today = time::now().with_timezone(&zone).date_naive();
        let (from, until) = DateRange::default().or_last_days(7, zone).span(zone).unwrap();
        assert_eq!(from, start_of_day(zone, today - Days::new(7)));
        assert_eq!(until, start_of_day(zone, today + Days::new(1)));
        let given = DateRange::parse(Some("2030-05-20"), None)
            .unwrap()
            .or_last_days(7, zone);
        assert_eq!(given.span(zone).unwrap().0, utc("2030-05-20T03:00:00Z"));
        assert_eq!(DateRange::default().span(zone), None);
    }

    #[test]
    fn anything_else_is_a_bad_request_naming_the_parameter() {
        for bad in ["tomorrow", "2030-13-01", "20/05/2030", "2030-05-20 10:00"] {
            let err = DateRange::parse(None, Some(bad)).unwrap_err();
            assert!(
                matches!(&err, ApiError::BadRequest(why) if why.contains("date_to")),
                "{bad}: {err}"
            );
        }
        assert_eq!(DateRange::parse(Some(""), None).unwrap(), DateRange::default());
    }
}
