//! The resource and daemon settings: defaults, validation, thresholds and areas.

use super::*;

#[test]
fn thresholds_are_compared_only_when_both_are_valid() {
    let found = problems(&[
        ("MEMORY_WARNING_THRESHOLD", "0.95"),
        ("MEMORY_CRITICAL_THRESHOLD", "2"),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].variable, "MEMORY_CRITICAL_THRESHOLD");
    let found = problems(&[("MEMORY_WARNING_THRESHOLD", "0.95")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message.contains("is unset and its default 0.9"),
        "{}",
        found[0].message
    );
    assert!(
        !found[0].message.contains("required"),
        "{}",
        found[0].message
    );
}

#[test]
fn resource_and_daemon_defaults() {
    let config = local(&[]).expect("defaults are valid");
    let resources = &config.resources;
    assert_eq!(resources.data_dir, "data");
    assert_eq!(resources.areas, ["temp", "cache", "output"]);
    assert_eq!(resources.max_temp_age_hours, 24.0);
    assert_eq!(resources.max_cache_size_gb, 5.0);
    assert_eq!(resources.cache_low_water_ratio, 0.8);
    assert_eq!(resources.memory_warning_threshold, 0.85);
    assert_eq!(resources.disk_warning_threshold, 0.90);
    assert_eq!(resources.memory_critical_threshold, 0.90);
    assert_eq!(resources.monitor_interval_secs, 300);
    assert_eq!(resources.cleanup_interval_hours, 6.0);
    assert_eq!(config.daemon.listen, "127.0.0.1:9464");
    assert_eq!(config.daemon.api_token, None);
}

#[test]
fn resource_settings_are_validated() {
    let cases: &[(&str, &str)] = &[
        ("BACHATA_DATA_DIR", ""),
        ("BACHATA_AREAS", "temp,../etc"),
        ("BACHATA_AREAS", "temp,temp"),
        ("MAX_TEMP_AGE_HOURS", "-1"),
        ("MAX_CACHE_SIZE_GB", "0"),
        ("CACHE_LOW_WATER_RATIO", "1.5"),
        ("MEMORY_WARNING_THRESHOLD", "85"),
        ("DISK_WARNING_THRESHOLD", "0"),
        ("MONITOR_INTERVAL_SECS", "0"),
        ("CLEANUP_INTERVAL_HOURS", "inf"),
        ("BACHATA_LISTEN", "localhost"),
    ];
    for (variable, value) in cases {
        let found = problems(&[(variable, value)]);
        assert_eq!(found.len(), 1, "{variable}={value}");
        assert_eq!(found[0].variable, *variable);
    }
    let found = problems(&[
        ("MEMORY_WARNING_THRESHOLD", "0.95"),
        ("MEMORY_CRITICAL_THRESHOLD", "0.9"),
    ]);
    assert_eq!(found[0].variable, "MEMORY_CRITICAL_THRESHOLD");
    assert!(found[0].expected.contains("MEMORY_WARNING_THRESHOLD"));
    let token = local(&[("BACHATA_API_TOKEN", "tok-123")]).expect("valid");
    assert_eq!(setting(&token, "BACHATA_API_TOKEN").value, REDACTED);
}

#[test]
fn areas_must_include_temp() {
    for value in ["cache", "cache,output", "tmp,cache", "temporary"] {
        let found = problems(&[("BACHATA_AREAS", value)]);
        assert_eq!(found.len(), 1, "{value}: {found:?}");
        assert_eq!(found[0].variable, "BACHATA_AREAS");
        assert_eq!(found[0].value.as_deref(), Some(value));
        assert!(
            found[0].expected.contains("including `temp`"),
            "{}",
            found[0].expected
        );
    }
    for value in ["temp", "cache, temp", "output,temp,cache"] {
        let config = local(&[("BACHATA_AREAS", value)]).expect("temp is managed");
        assert!(config.resources.areas.iter().any(|area| area == "temp"));
    }
}
