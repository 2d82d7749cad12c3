//! The error body every Engine API failure carries.

use serde::{Deserialize, Serialize};

/// `{"message": "..."}` (`ErrorResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong, for a human.
    pub message: String,
}
