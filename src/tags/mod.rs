//! Tags (SPEC §4.8): a tree of labels for calls. A parent must exist and must not make a
//! cycle; a tag with children cannot be deleted; deleting a tag takes it off its calls.

pub mod routes;
pub mod store;

pub use store::{Tag, TagNode};
