//! The value parsers on their own: booleans, ports, devices, environments, numbers, listen
//! addresses, areas, and the names of the enums.

use super::*;
use crate::config::values::{
    parse_areas, parse_device, parse_environment, parse_listen, parse_number, parse_port,
    parse_whole,
};
use crate::config::{device_name, environment_name, parse_bool, valid_area_name};

#[test]
fn booleans_are_written_the_way_operators_write_them() {
    for value in ["true", "TRUE", "1", "yes", "On"] {
        assert_eq!(parse_bool(value), Some(true), "{value}");
    }
    for value in ["false", "False", "0", "no", "OFF"] {
        assert_eq!(parse_bool(value), Some(false), "{value}");
    }
    for value in ["", "ture", "2", "y", "enabled"] {
        assert_eq!(parse_bool(value), None, "{value}");
    }
}

#[test]
fn ports_are_from_1_to_65535() {
    assert_eq!(parse_port("1"), Some(1));
    assert_eq!(parse_port("65535"), Some(65535));
    for value in ["", "0", "-1", "65536", "92OO"] {
        assert_eq!(parse_port(value), None, "{value}");
    }
}

#[test]
fn enum_names_parse_back_in_any_case_and_display_as_named() {
    for device in [Device::Cpu, Device::Cuda, Device::Auto] {
        let name = device_name(device);
        assert_eq!(parse_device(name), Some(device));
        assert_eq!(parse_device(&name.to_uppercase()), Some(device));
        assert_eq!(device.to_string(), name);
    }
    assert_eq!(parse_device("tpu"), None);
    for environment in [Environment::Local, Environment::Cloud] {
        let name = environment_name(environment);
        assert_eq!(parse_environment(name), Some(environment));
        assert_eq!(parse_environment(&name.to_uppercase()), Some(environment));
        assert_eq!(environment.to_string(), name);
    }
    assert_eq!(parse_environment("production"), None);
}

#[test]
fn numbers_are_finite_and_within_their_bounds() {
    assert_eq!(parse_number("0", (0.0, true), 1.0), Some(0.0));
    assert_eq!(parse_number("0", (0.0, false), 1.0), None);
    assert_eq!(parse_number("1", (0.0, false), 1.0), Some(1.0));
    for value in ["1.01", "inf", "NaN", "-1e-9", "one"] {
        assert_eq!(parse_number(value, (0.0, true), 1.0), None, "{value}");
    }
    assert_eq!(parse_whole::<u32>("10", &(1..=10)), Some(10));
    for value in ["0", "11", "1.5", "-1", "1e3"] {
        assert_eq!(parse_whole::<u32>(value, &(1..=10)), None, "{value}");
    }
}

#[test]
fn listen_addresses_are_an_ip_and_a_port() {
    assert_eq!(
        parse_listen("127.0.0.1:9464").as_deref(),
        Some("127.0.0.1:9464")
    );
    assert_eq!(parse_listen("[::1]:80").as_deref(), Some("[::1]:80"));
    for value in ["localhost:80", "127.0.0.1", ":80"] {
        assert_eq!(parse_listen(value), None, "{value}");
    }
}

#[test]
fn area_names_are_short_lowercase_words() {
    for name in ["temp", "a", "a_b-1", &"x".repeat(64)] {
        assert!(valid_area_name(name), "{name}");
    }
    for name in ["", "Temp", "../etc", "a b", "é", &"x".repeat(65)] {
        assert!(!valid_area_name(name), "{name}");
    }
    assert_eq!(parse_areas("cache , temp").as_deref(), Some("cache,temp"));
    for value in ["cache", "temp,temp", "temp,", "temp,Cache"] {
        assert_eq!(parse_areas(value), None, "{value}");
    }
}
