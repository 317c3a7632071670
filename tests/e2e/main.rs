//! End-to-end tests: the `bachata-common` binary and library with the real policy component.

mod background;
mod bad_input;
mod cli;
mod compile_cache;
mod component;
mod daemon;
mod experiment_vectors;
mod experiments;
mod experiments_http;
mod hardening;
mod hostile;
mod layers;
mod monitor;
mod monitor_http;
mod organizer;
mod organizer_vectors;
mod pose;
mod redaction;
mod report_html;
mod resources;
mod safety;
mod scale;
mod secrets;
mod swap;
mod temp;
mod vectors;
