//! `IsIPAddressPrivate` / `IsIPAddressPublic` agree with CPython's `ipaddress` module.
//!
//! `tests/data/ip_python.tsv` was recorded by `tests/data/ip_python.py` with CPython 3.11
//! (the version Panther's runtime uses); each row is `address, is_private, is_global`.

use trailwatch::rule::ip::{is_global, is_private, parse_ip};

#[test]
fn private_and_public_match_cpython() {
    let table = include_str!("../data/ip_python.tsv");
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let ip = parse_ip(cols[0]).unwrap_or_else(|| panic!("{} parses", cols[0]));
        assert_eq!(is_private(ip), cols[1] == "True", "is_private({})", cols[0]);
        assert_eq!(is_global(ip), cols[2] == "True", "is_global({})", cols[0]);
        rows += 1;
    }
    assert!(rows > 500, "table has {rows} rows");
}
