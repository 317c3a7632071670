//! End-to-end tests: the `bachata-common` binary and library with the real policy component.

mod bad_input;
mod cli;
mod component;
mod redaction;
mod secrets;
