//! grantd-core: the model every surface maps onto, and the rules that keep it valid.
//!
//! Plain Rust with no I/O: no tokio, no SQL, no HTTP types. The store persists these
//! objects without knowing their content and the server decides who may write them; what an
//! object may contain and which other objects it points at is decided here, once, for
//! every API surface.

pub mod decision;
pub mod ids;
pub mod invalid;
pub mod model;
pub mod object;

pub use invalid::{FieldError, Invalid};
pub use object::{Kind, Object, ObjectKey, OnDelete, Ref};
