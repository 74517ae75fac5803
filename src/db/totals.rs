//! The totals of list pages (`meta.total_count`), kept between reads while their database
//! commits nothing. A page's COUNT walks every index entry its filter matches (a thousand
//! for one agent's appointments), the largest part of a list request's SQL, and it is the
//! same for every page of a list until something is written: paging through a list, or a
//! console refreshing one, counts it once.
//!
//! A total is only reused at the write generation it was counted at, and only by a read
//! whose snapshot is of that generation: the writer makes the generation odd before a
//! COMMIT and even after it, and a list reads it before opening its snapshot and again
//! once its first statement has run ([`Totals::count`]). An equal, even value both times
//! means no commit became visible in between, so the snapshot holds exactly the data the
//! total was counted on.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::types::Value as SqlValue;

/// How long a total is believed at most: another process (the CLI) may write the file
/// too, and its commits do not move this process's generation.
pub const TOTALS_KEPT: Duration = Duration::from_secs(2);
/// Totals and other kept values at most per database; past it the map starts again empty.
const ENTRIES: usize = 1_024;
/// The longest list whose whole order is kept (its rowids): a longer one is paged along
/// its index with `OFFSET` and counted.
pub const ORDER_KEPT_MAX: usize = 5_000;
/// Rowids kept at most per database (1 MiB); past it the orders start again empty.
const ORDER_IDS: usize = 131_072;

/// When a kept value was read: at which write generation, and when.
struct Stamp {
    generation: u64,
    read_at: Instant,
}

impl Stamp {
    fn at(generation: u64) -> Stamp {
        Stamp {
            generation,
            read_at: Instant::now(),
        }
    }

    /// Whether a read whose snapshot is of generation `before` may use what was read then.
    fn serves(&self, before: u64) -> bool {
        self.generation == before && self.read_at.elapsed() < TOTALS_KEPT
    }
}

/// A list's rowids in its order, `None` when it is longer than [`ORDER_KEPT_MAX`].
struct Ordered {
    stamp: Stamp,
    ids: Option<Arc<[i64]>>,
}

#[derive(Default)]
struct Orders {
    lists: HashMap<Box<str>, Ordered>,
    /// The rowids held by `lists`.
    ids: usize,
}

/// A list's order as [`Totals::order`] answers it.
pub(crate) struct ListOrder {
    /// Its rowids, `None` when it is longer than [`ORDER_KEPT_MAX`].
    pub(crate) ids: Option<Arc<[i64]>>,
    /// Read by this read, in its snapshot, rather than kept from an earlier one.
    pub(crate) read_here: bool,
}

/// A total, or a value a list read beside its rows (the names on a page), see
/// [`Totals::keep`].
struct Kept {
    stamp: Stamp,
    value: Arc<dyn Any + Send + Sync>,
}

/// The totals (and the orders, and the values lists read beside their rows) of one
/// database, and the write generation of its writer.
pub(crate) struct Totals {
    generation: Arc<AtomicU64>,
    orders: Mutex<Orders>,
    values: Mutex<HashMap<Box<str>, Kept>>,
}

/// What a read running on this thread may use: its database's totals, and the write
/// generation read just before its snapshot opened (while one is open).
struct Lent {
    totals: Arc<Totals>,
    before: Option<u64>,
}

thread_local! {
    static LENT: RefCell<Option<Lent>> = const { RefCell::new(None) };
}

/// Puts back what [`LENT`] held before, also when the read panics.
struct Return(Option<Lent>);

impl Drop for Return {
    fn drop(&mut self) {
        let previous = self.0.take();
        LENT.with(|lent| *lent.borrow_mut() = previous);
    }
}

impl Totals {
    /// `generation`: raised by the writer to odd before each COMMIT and to even after it.
    pub(crate) fn new(generation: Arc<AtomicU64>) -> Totals {
        Totals {
            generation,
            orders: Mutex::new(Orders::default()),
            values: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `read` (one read on one of this database's connections) with these totals
    /// available to the lists it runs on this thread.
    pub(crate) fn lend<T>(self: &Arc<Self>, read: impl FnOnce() -> T) -> T {
        let lent = Lent {
            totals: self.clone(),
            before: None,
        };
        let _back = Return(LENT.with(|cell| cell.replace(Some(lent))));
        read()
    }

    /// Notes the write generation for the read running on this thread, which is about to
    /// open its snapshot; `false` when no totals are lent to it.
    pub(crate) fn note_generation() -> bool {
        LENT.with(|cell| match cell.borrow_mut().as_mut() {
            Some(lent) => {
                lent.before = Some(lent.totals.generation());
                true
            }
            None => false,
        })
    }

    /// Its snapshot has closed: what was noted no longer describes the data it reads.
    pub(crate) fn forget_generation() {
        LENT.with(|cell| {
            if let Some(lent) = cell.borrow_mut().as_mut() {
                lent.before = None;
            }
        });
    }

    /// The totals lent to the read on this thread, with the generation noted before its
    /// open snapshot; `None` outside a read, or in a transaction not opened through
    /// [`crate::db::query::snapshot`].
    pub(crate) fn noted() -> Option<(Arc<Totals>, u64)> {
        LENT.with(|cell| {
            let lent = cell.borrow();
            let lent = lent.as_ref()?;
            Some((lent.totals.clone(), lent.before?))
        })
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The total of `sql` with `params`, as `count` would return it in this read: kept
    /// from an earlier read of the same generation, else counted (and kept when the
    /// snapshot is known to be of generation `before`). Call it after the read's first
    /// statement has run, so the snapshot is open.
    pub(crate) fn count(
        &self,
        before: u64,
        sql: &str,
        params: &[SqlValue],
        count: impl FnOnce() -> rusqlite::Result<i64>,
    ) -> rusqlite::Result<i64> {
        self.keep(before, &key(sql, params), count).map(|total| *total)
    }

    /// The rowids of a whole list in its order (`sql` with `params`), `None` when it is
    /// longer than [`ORDER_KEPT_MAX`]: kept from an earlier read of generation `before`,
    /// else `read` (and kept when the snapshot is known to be of generation `before`).
    /// A page of a kept list is cut from it, and its length is the total: paging through
    /// a list reads its index once, not up to the page's offset on every page.
    ///
    /// Unlike [`Totals::count`] it may answer before the read's first statement has run:
    /// once one has, [`Totals::unchanged`] tells whether the snapshot holds the data the
    /// order was read from.
    pub(crate) fn order(
        &self,
        before: u64,
        sql: &str,
        params: &[SqlValue],
        read: impl FnOnce() -> rusqlite::Result<Option<Vec<i64>>>,
    ) -> rusqlite::Result<ListOrder> {
        let key = key(sql, params);
        if before.is_multiple_of(2) {
            let orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(kept) = orders.lists.get(&key).filter(|kept| kept.stamp.serves(before)) {
                return Ok(ListOrder {
                    ids: kept.ids.clone(),
                    read_here: false,
                });
            }
        }
        let ids: Option<Arc<[i64]>> = read()?.map(Arc::from);
        if self.unchanged(before) {
            let mut orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
            let length = ids.as_ref().map_or(0, |ids| ids.len());
            if orders.lists.len() >= ENTRIES || orders.ids + length > ORDER_IDS {
                *orders = Orders::default();
            }
            orders.ids += length;
            let replaced = orders.lists.insert(
                key,
                Ordered {
                    stamp: Stamp::at(before),
                    ids: ids.clone(),
                },
            );
            if let Some(ids) = replaced.and_then(|replaced| replaced.ids) {
                orders.ids -= ids.len();
            }
        }
        Ok(ListOrder { ids, read_here: true })
    }

    /// What `read` returns for `key` (its statement and values), kept like a total: from
    /// an earlier read of generation `before`, else read (and kept when the snapshot is
    /// known to be of it). Call it after the read's first statement has run.
    pub(crate) fn keep<T: Send + Sync + 'static>(
        &self,
        before: u64,
        key: &str,
        read: impl FnOnce() -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Arc<T>> {
        if !self.unchanged(before) {
            return read().map(Arc::new);
        }
        {
            let values = self.values.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(value) = values
                .get(key)
                .filter(|kept| kept.stamp.serves(before))
                .and_then(|kept| kept.value.clone().downcast::<T>().ok())
            {
                return Ok(value);
            }
        }
        let value = Arc::new(read()?);
        let mut values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        if values.len() >= ENTRIES {
            values.clear();
        }
        values.insert(
            key.into(),
            Kept {
                stamp: Stamp::at(before),
                value: value.clone(),
            },
        );
        Ok(value)
    }

    /// Whether no commit has become visible since the generation `before` was noted (and
    /// none was under way then).
    pub(crate) fn unchanged(&self, before: u64) -> bool {
        before.is_multiple_of(2) && self.generation() == before
    }
}

/// The statement and its values, one string: values are written with their type, so
/// `1` and `'1'` differ.
fn key(sql: &str, params: &[SqlValue]) -> Box<str> {
    let mut key = String::with_capacity(sql.len() + 16 * params.len());
    key.push_str(sql);
    for param in params {
        let _ = write!(key, "\u{0}{param:?}");
    }
    key.into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_is_reused_only_at_the_even_generation_it_was_counted_at() {
        let generation = Arc::new(AtomicU64::new(0));
        let totals = Totals::new(generation.clone());
        let counted = std::cell::Cell::new(0);
        let count = |n: i64| {
            counted.set(counted.get() + 1);
            Ok(n)
        };
        let params = [SqlValue::Text("agent".into())];
        assert_eq!(totals.count(0, "q", &params, || count(5)).unwrap(), 5);
        assert_eq!(totals.count(0, "q", &params, || count(6)).unwrap(), 5, "kept");
        assert_eq!(counted.get(), 1);
        // Other values, or a value of another type, are another total.
        assert_eq!(
            totals
                .count(0, "q", &[SqlValue::Text("other".into())], || count(7))
                .unwrap(),
            7
        );
        assert_eq!(totals.count(0, "q", &[SqlValue::Integer(1)], || count(8)).unwrap(), 8);
        assert_eq!(
            totals
                .count(0, "q", &[SqlValue::Text("1".into())], || count(9))
                .unwrap(),
            9
        );
        // A commit under way (odd), or one between the two readings: counted, not kept.
        generation.store(1, Ordering::Release);
        assert_eq!(totals.count(1, "q", &params, || count(10)).unwrap(), 10);
        assert_eq!(totals.count(0, "q", &params, || count(11)).unwrap(), 11);
        generation.store(2, Ordering::Release);
        assert_eq!(totals.count(2, "q", &params, || count(12)).unwrap(), 12);
        assert_eq!(totals.count(2, "q", &params, || count(13)).unwrap(), 12);
    }

    #[test]
    fn totals_are_lent_to_one_read_on_its_thread_only() {
        let generation = Arc::new(AtomicU64::new(4));
        let totals = Arc::new(Totals::new(generation.clone()));
        assert!(!Totals::note_generation(), "no read, nothing to note");
        let inside = totals.lend(|| {
            assert!(Totals::noted().is_none(), "no snapshot yet");
            assert!(Totals::note_generation());
            generation.store(6, Ordering::Release);
            let noted = Totals::noted().map(|(_, before)| before);
            Totals::forget_generation();
            (noted, Totals::noted().is_none())
        });
        assert_eq!(inside, (Some(4), true), "the generation from before the snapshot");
        assert!(!Totals::note_generation(), "given back after the read");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            totals.lend(|| panic!("a read that panics"));
        }));
        assert!(panicked.is_err());
        assert!(!Totals::note_generation(), "given back after a panic too");
    }
}
