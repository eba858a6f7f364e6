//! Keys: creation, lifecycle, versions, grants, usage policies, export, and how administrators
//! see them.

pub mod create;
pub mod delete;
pub mod export;
pub mod grants;
pub mod lifecycle;
pub mod list;
pub mod policy;
pub mod transit_backup;
pub mod transit_export;
pub mod transit_restore;
pub mod usage;
pub mod versions;
pub mod view;
