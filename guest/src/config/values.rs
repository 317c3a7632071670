//! Parsing and validating raw values (booleans, ports, devices, environments, numbers
//! within ranges, listen addresses, area names) and the names of the configuration enums.
//!
//! Each parser takes the value already trimmed and returns `None` when it is invalid.

use std::ops::RangeInclusive;
use std::str::FromStr;

use super::TEMP_AREA;
use crate::types::{Device, Environment};

/// What a boolean setting expects, as problems state it.
pub(super) const BOOL_EXPECTED: &str = "true or false (also 1/0, yes/no, on/off)";

/// Parses a boolean the way operators write them; anything else is rejected.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A port number from 1 to 65535.
pub(super) fn parse_port(value: &str) -> Option<u16> {
    value.parse::<u16>().ok().filter(|port| *port >= 1)
}

/// A device by its `YOLOV8_DEVICE` name, in any case.
pub(super) fn parse_device(value: &str) -> Option<Device> {
    match value.to_ascii_lowercase().as_str() {
        "cpu" => Some(Device::Cpu),
        "cuda" => Some(Device::Cuda),
        "auto" => Some(Device::Auto),
        _ => None,
    }
}

/// An environment by its `ENVIRONMENT` name, in any case.
pub(super) fn parse_environment(value: &str) -> Option<Environment> {
    match value.to_ascii_lowercase().as_str() {
        "local" => Some(Environment::Local),
        "cloud" => Some(Environment::Cloud),
        _ => None,
    }
}

/// A number in [0, 1].
pub(super) fn parse_fraction(value: &str) -> Option<f64> {
    value
        .parse::<f64>()
        .ok()
        .filter(|number| (0.0..=1.0).contains(number))
}

/// A ratio in (0, 1].
pub(super) fn parse_ratio(value: &str) -> Option<f64> {
    value
        .parse::<f64>()
        .ok()
        .filter(|number| *number > 0.0 && *number <= 1.0)
}

/// A finite number from `min` to `max` (above `min` when `min_inclusive` is false).
pub(super) fn parse_number(
    value: &str,
    (min, min_inclusive): (f64, bool),
    max: f64,
) -> Option<f64> {
    value.parse::<f64>().ok().filter(|number| {
        number.is_finite() && (*number > min || (min_inclusive && *number == min)) && *number <= max
    })
}

/// A whole number within `range`.
pub(super) fn parse_whole<T>(value: &str, range: &RangeInclusive<T>) -> Option<T>
where
    T: FromStr + PartialOrd,
{
    value
        .parse::<T>()
        .ok()
        .filter(|number| range.contains(number))
}

/// An IP address and port, written back in its canonical form.
pub(super) fn parse_listen(value: &str) -> Option<String> {
    value
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|addr| addr.to_string())
}

/// Comma-separated distinct area names (see [`valid_area_name`]) that include
/// [`TEMP_AREA`], written back without the spaces around them.
pub(super) fn parse_areas(value: &str) -> Option<String> {
    let names: Vec<&str> = value.split(',').map(str::trim).collect();
    let distinct = names
        .iter()
        .enumerate()
        .all(|(i, name)| !names[..i].contains(name));
    let valid = names.iter().all(|name| valid_area_name(name));
    (distinct && valid && names.contains(&TEMP_AREA)).then(|| names.join(","))
}

/// Whether `name` can name a managed area: 1 to 64 of `a-z`, `0-9`, `_`, `-`.
pub fn valid_area_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The `ENVIRONMENT` name of an environment.
pub fn environment_name(environment: Environment) -> &'static str {
    match environment {
        Environment::Local => "local",
        Environment::Cloud => "cloud",
    }
}

/// The `YOLOV8_DEVICE` name of a device.
pub fn device_name(device: Device) -> &'static str {
    match device {
        Device::Cpu => "cpu",
        Device::Cuda => "cuda",
        Device::Auto => "auto",
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(device_name(*self))
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(environment_name(*self))
    }
}
