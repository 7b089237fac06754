//! Bearer tokens: HS256 JWTs with a required `exp`. A `Caller` is who a
//! request (or socket) acts for; handlers get one only from a valid token.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod caller;
mod demo_login;
mod error;
mod extract;
mod keys;

pub use caller::{Caller, Role};
pub use demo_login::{demo_login_api, demo_login_routes};
pub use error::AuthError;
pub use extract::bearer_token;
pub use keys::TokenKeys;
