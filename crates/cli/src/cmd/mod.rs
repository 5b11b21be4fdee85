//! One module per subcommand; each parses its own arguments and calls into
//! the library crates, which hold all the logic.

pub mod btf;
pub mod build;
mod inspect;
pub mod link;
pub mod map;
pub mod prog;
