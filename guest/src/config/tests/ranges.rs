//! The numeric settings: each end of every range is accepted, anything beyond is a problem
//! stating the range.

use super::*;

/// A value of each numeric setting outside its range, and the range its `expected` states.
const OUT_OF_RANGE: &[(&str, &str, &str)] = &[
    (
        "CLEANUP_INTERVAL_HOURS",
        "1e300",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "1e-9",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "0.0002",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "8760.001",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "0",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "inf",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "-inf",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    (
        "CLEANUP_INTERVAL_HOURS",
        "NaN",
        "from 0.000278 (1 second) to 8760 (1 year)",
    ),
    ("MONITOR_INTERVAL_SECS", "0", "from 1 to 31536000 (1 year)"),
    (
        "MONITOR_INTERVAL_SECS",
        "31536001",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MONITOR_INTERVAL_SECS",
        "1e300",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MONITOR_INTERVAL_SECS",
        "1.5",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MONITOR_INTERVAL_SECS",
        "NaN",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MONITOR_INTERVAL_SECS",
        "18446744073709551616",
        "from 1 to 31536000 (1 year)",
    ),
    (
        "MAX_TEMP_AGE_HOURS",
        "-1e-9",
        "from 0 to 876000 (100 years)",
    ),
    (
        "MAX_TEMP_AGE_HOURS",
        "876000.5",
        "from 0 to 876000 (100 years)",
    ),
    (
        "MAX_TEMP_AGE_HOURS",
        "1e300",
        "from 0 to 876000 (100 years)",
    ),
    ("MAX_TEMP_AGE_HOURS", "inf", "from 0 to 876000 (100 years)"),
    ("MAX_TEMP_AGE_HOURS", "NaN", "from 0 to 876000 (100 years)"),
    (
        "MAX_CACHE_SIZE_GB",
        "0",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "-1e-9",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "1048576.5",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "1e300",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "inf",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    (
        "MAX_CACHE_SIZE_GB",
        "NaN",
        "above 0 and at most 1048576 (1 PiB)",
    ),
    ("ELASTICSEARCH_TIMEOUT", "0", "from 1 to 86400 (1 day)"),
    ("ELASTICSEARCH_TIMEOUT", "86401", "from 1 to 86400 (1 day)"),
    ("ELASTICSEARCH_TIMEOUT", "1e300", "from 1 to 86400 (1 day)"),
    ("ELASTICSEARCH_TIMEOUT", "NaN", "from 1 to 86400 (1 day)"),
    ("ELASTICSEARCH_MAX_CONNECTIONS", "0", "from 1 to 10000"),
    ("ELASTICSEARCH_MAX_CONNECTIONS", "10001", "from 1 to 10000"),
    (
        "ELASTICSEARCH_MAX_CONNECTIONS",
        "4294967296",
        "from 1 to 10000",
    ),
    ("ELASTICSEARCH_MAX_CONNECTIONS", "inf", "from 1 to 10000"),
    ("YOLOV8_MAX_DET", "0", "from 1 to 10000"),
    ("YOLOV8_MAX_DET", "10001", "from 1 to 10000"),
    ("YOLOV8_MAX_DET", "1e300", "from 1 to 10000"),
    ("YOLOV8_MAX_DET", "NaN", "from 1 to 10000"),
    ("YOLOV8_THREADS", "1025", "up to 1024"),
    ("YOLOV8_THREADS", "-1", "up to 1024"),
    ("YOLOV8_THREADS", "inf", "up to 1024"),
];

#[test]
fn numeric_settings_out_of_range_are_problems_stating_the_range() {
    for (variable, value, range) in OUT_OF_RANGE {
        let found = problems(&[(variable, value)]);
        assert_eq!(found.len(), 1, "{variable}={value}: {found:?}");
        let problem = &found[0];
        assert_eq!(problem.variable, *variable);
        assert_eq!(problem.value.as_deref(), Some(*value));
        assert!(
            problem.expected.contains(range),
            "{variable}={value}: {}",
            problem.expected
        );
        assert!(
            problem.message.contains(&format!("{value:?}")) && problem.message.contains(range),
            "{}",
            problem.message
        );
    }
}

#[test]
fn numeric_settings_accept_both_ends_of_their_range() {
    let one_second = (1.0f64 / 3600.0).to_string();
    let low = local(&[
        ("CLEANUP_INTERVAL_HOURS", one_second.as_str()),
        ("MONITOR_INTERVAL_SECS", "1"),
        ("MAX_TEMP_AGE_HOURS", "0"),
        ("MAX_CACHE_SIZE_GB", "1e-9"),
        ("ELASTICSEARCH_TIMEOUT", "1"),
        ("ELASTICSEARCH_MAX_CONNECTIONS", "1"),
        ("YOLOV8_MAX_DET", "1"),
        ("YOLOV8_THREADS", "0"),
    ])
    .expect("the lower bounds are valid");
    let resources = &low.resources;
    assert_eq!(resources.cleanup_interval_hours, 1.0 / 3600.0);
    assert_eq!(resources.monitor_interval_secs, 1);
    assert_eq!(resources.max_temp_age_hours, 0.0);
    assert_eq!(resources.max_cache_size_gb, 1e-9);
    assert_eq!(low.elasticsearch.timeout_secs, 1);
    assert_eq!(low.elasticsearch.max_connections, 1);
    assert_eq!((low.yolo.max_det, low.yolo.threads), (1, 0));
    assert!(local(&[("CLEANUP_INTERVAL_HOURS", "0.000278")]).is_ok());

    let high = local(&[
        ("CLEANUP_INTERVAL_HOURS", "8760"),
        ("MONITOR_INTERVAL_SECS", "31536000"),
        ("MAX_TEMP_AGE_HOURS", "876000"),
        ("MAX_CACHE_SIZE_GB", "1048576"),
        ("ELASTICSEARCH_TIMEOUT", "86400"),
        ("ELASTICSEARCH_MAX_CONNECTIONS", "10000"),
        ("YOLOV8_MAX_DET", "10000"),
        ("YOLOV8_THREADS", "1024"),
    ])
    .expect("the upper bounds are valid");
    let resources = &high.resources;
    assert_eq!(resources.cleanup_interval_hours, 8760.0);
    assert_eq!(resources.monitor_interval_secs, 31_536_000);
    assert_eq!(resources.max_temp_age_hours, 876_000.0);
    assert_eq!(resources.max_cache_size_gb, 1_048_576.0);
    assert_eq!(high.elasticsearch.timeout_secs, 86_400);
    assert_eq!(high.elasticsearch.max_connections, 10_000);
    assert_eq!((high.yolo.max_det, high.yolo.threads), (10_000, 1024));
}
