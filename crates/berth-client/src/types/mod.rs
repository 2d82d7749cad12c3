//! The Docker Engine API's JSON types, one module per resource. Field names are the
//! API's (mostly PascalCase); unknown fields are ignored, since daemons and clients of
//! other versions send more than these types carry.

pub mod containers;
pub mod errors;
pub mod events;
pub mod exec;
pub mod host_config;
pub mod images;
pub mod networks;
pub mod progress;
pub mod stats;
pub mod system;
pub mod version;
pub mod volumes;

use serde::{Deserialize, Deserializer};

/// Reads `null` as the type's default: Go encodes nil slices and maps as `null`, where
/// these types use an empty `Vec` or map.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
