//! The HTTP APIs grantd speaks. Each surface decodes its requests, checks the caller,
//! calls the service, and encodes the answer in its own shapes; none adds rules.

pub mod console;
pub mod dataarts;
pub mod native;
pub mod segment;
pub mod slashid;
pub mod timeout;
