//! SQL for tags and for the tags of a call.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::{ApiError, FieldErrors, unique_violation_as};

pub const DEFAULT_COLOR: &str = "#6b7280";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tag {
    pub id: String,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// Null for a root tag.
    pub parent_id: Option<String>,
    /// Calls carrying this tag.
    pub usage_count: i64,
    pub inserted_at: String,
    pub updated_at: String,
}

/// A tag with its children, for `GET /tags/tree`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagNode {
    pub id: String,
    pub name: String,
    pub color: String,
    pub parent_id: Option<String>,
    pub usage_count: i64,
    pub inserted_at: String,
    pub updated_at: String,
    #[schema(no_recursion)]
    pub children: Vec<TagNode>,
}

const COLUMNS: &str = "t.id, t.name, t.color, t.parent_id, \
     (SELECT count(*) FROM call_tags ct WHERE ct.tag_id = t.id), t.inserted_at, t.updated_at";
const FROM: &str = "tags t";

pub const SORT: SortSpec = SortSpec {
    columns: &[
        ("name", "t.name COLLATE NOCASE"),
        ("inserted_at", "t.inserted_at"),
        (
            "usage_count",
            "(SELECT count(*) FROM call_tags ct WHERE ct.tag_id = t.id)",
        ),
    ],
    default_key: "name",
    default_order: SortOrder::Asc,
    default_page_size: 50,
    tie_breaker: "t.id",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<Tag> {
    Ok(Tag {
        id: row.get(0)?,
        name: row.get(1)?,
        color: row.get(2)?,
        parent_id: row.get(3)?,
        usage_count: row.get(4)?,
        inserted_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Tag>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE t.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

pub fn find(conn: &Connection, id: &str) -> Result<Tag, ApiError> {
    get(conn, id)?.ok_or_else(|| ApiError::not_found("Tag"))
}

pub fn list(conn: &Connection, search: Option<&str>, order: &Order) -> Result<Page<Tag>, ApiError> {
    let mut filter = Filter::new();
    filter.search(&["t.name"], search);
    fetch_page(conn, COLUMNS, FROM, &filter, order, map_row)
}

/// Every tag as a forest: roots with nested children, each level sorted by name.
pub fn tree(conn: &Connection) -> Result<Vec<TagNode>, ApiError> {
    let tags = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM} ORDER BY t.name COLLATE NOCASE, t.id"
        ))?
        .query_map([], map_row)?
        .collect::<Result<Vec<_>, _>>()?;
    fn children_of(parent: Option<&str>, tags: &[Tag]) -> Vec<TagNode> {
        tags.iter()
            .filter(|tag| tag.parent_id.as_deref() == parent)
            .map(|tag| TagNode {
                children: children_of(Some(&tag.id), tags),
                id: tag.id.clone(),
                name: tag.name.clone(),
                color: tag.color.clone(),
                parent_id: tag.parent_id.clone(),
                usage_count: tag.usage_count,
                inserted_at: tag.inserted_at.clone(),
                updated_at: tag.updated_at.clone(),
            })
            .collect()
    }
    Ok(children_of(None, &tags))
}

#[derive(Debug, Default)]
pub struct TagFields {
    pub name: Option<String>,
    pub color: Option<String>,
    pub parent_id: Option<Option<String>>,
}

/// A parent must exist and, for an existing tag, must not be the tag or below it.
fn check_parent(conn: &Connection, tag_id: Option<&str>, parent_id: Option<&str>) -> Result<(), ApiError> {
    let Some(parent_id) = parent_id else {
        return Ok(());
    };
    if get(conn, parent_id)?.is_none() {
        return Err(FieldErrors::single("parent_id", "does not exist"));
    }
    let Some(tag_id) = tag_id else {
        return Ok(());
    };
    let cycle = conn
        .prepare_cached(
            "WITH RECURSIVE ancestors (id) AS (
                 SELECT ?1
                 UNION SELECT t.parent_id FROM tags t JOIN ancestors a ON t.id = a.id WHERE t.parent_id IS NOT NULL
             )
             SELECT 1 FROM ancestors WHERE id = ?2",
        )?
        .query_row([parent_id, tag_id], |_| Ok(()))
        .optional()?
        .is_some();
    if cycle {
        return Err(FieldErrors::single("parent_id", "would create a cycle"));
    }
    Ok(())
}

pub fn insert(tx: &WriteTx, fields: &TagFields) -> Result<Tag, ApiError> {
    let parent_id = fields.parent_id.clone().flatten();
    check_parent(tx, None, parent_id.as_deref())?;
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO tags (id, name, color, parent_id, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        id,
        fields.name.clone().unwrap_or_default(),
        fields.color.clone().unwrap_or_else(|| DEFAULT_COLOR.into()),
        parent_id,
        crate::time::now_text()
    ])
    .map_err(unique_violation_as("name"))?;
    let created = find(tx, &id)?;
    crate::audit::create(tx, "tag", &id, &created)?;
    Ok(created)
}

pub fn update(tx: &WriteTx, id: &str, fields: &TagFields) -> Result<Tag, ApiError> {
    let before = find(tx, id)?;
    if let Some(parent_id) = &fields.parent_id {
        check_parent(tx, Some(id), parent_id.as_deref())?;
    }
    tx.prepare_cached(
        "UPDATE tags SET
            name = coalesce(?2, name),
            color = coalesce(?3, color),
            parent_id = CASE WHEN ?4 THEN ?5 ELSE parent_id END,
            updated_at = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        fields.name,
        fields.color,
        fields.parent_id.is_some(),
        fields.parent_id.clone().flatten(),
        crate::time::now_text()
    ])
    .map_err(unique_violation_as("name"))?;
    let after = find(tx, id)?;
    crate::audit::update(tx, "tag", id, &before, &after)?;
    Ok(after)
}

/// Deletes a tag without children (else 422); calls that carried it lose it.
pub fn delete(tx: &WriteTx, id: &str) -> Result<(), ApiError> {
    let before = find(tx, id)?;
    let has_children = tx
        .prepare_cached("SELECT 1 FROM tags WHERE parent_id = ?1 LIMIT 1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some();
    if has_children {
        return Err(ApiError::Unprocessable(
            "Tag has children; delete or move them first".into(),
        ));
    }
    tx.prepare_cached("DELETE FROM tags WHERE id = ?1")?.execute([id])?;
    crate::audit::delete(tx, "tag", id, &before)
}

/// The tags of a call, by name.
pub fn of_call(conn: &Connection, call_id: &str) -> Result<Vec<Tag>, ApiError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM} JOIN call_tags ct ON ct.tag_id = t.id
             WHERE ct.call_id = ?1 ORDER BY t.name COLLATE NOCASE, t.id"
        ))?
        .query_map([call_id], map_row)?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Puts a tag on a call; putting it on twice changes nothing.
pub fn attach(tx: &WriteTx, call_id: &str, tag_id: &str) -> Result<(), ApiError> {
    let added = tx
        .prepare_cached(
            "INSERT INTO call_tags (call_id, tag_id, inserted_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (call_id, tag_id) DO NOTHING",
        )?
        .execute(params![call_id, tag_id, crate::time::now_text()])?;
    if added > 0 {
        crate::audit::note(tx, "call.tag", call_id, serde_json::json!({"tag_id": [null, tag_id]}))?;
    }
    Ok(())
}

pub fn detach(tx: &WriteTx, call_id: &str, tag_id: &str) -> Result<(), ApiError> {
    let removed = tx
        .prepare_cached("DELETE FROM call_tags WHERE call_id = ?1 AND tag_id = ?2")?
        .execute([call_id, tag_id])?;
    if removed > 0 {
        crate::audit::note(tx, "call.untag", call_id, serde_json::json!({"tag_id": [tag_id, null]}))?;
    }
    Ok(())
}
