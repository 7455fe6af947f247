//! IP address and CIDR logic for the `IsIP…` and `…CIDR…` conditions.
//!
//! "Private" and "public" follow Python's `ipaddress` module (`is_private`, `is_global`) as of
//! CPython 3.11, because that is what Panther's Python runtime answers for the same rule. The
//! tables below are the IANA special-purpose ranges that module lists; `tests/ip_python.rs`
//! compares every answer with one recorded from CPython.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 network, `address/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::/n`; a bare address is a /32 or /128. Host bits may be set
    /// (`10.1.2.3/8` means `10.0.0.0/8`), as CloudTrail writes ranges both ways.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network = IpAddr::from_str(addr.trim()).ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { network, prefix })
    }

    /// True when `ip` lies inside this network (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u32::from(net) as u128,
                u32::from(ip) as u128,
                self.prefix,
                32,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8, width: u32) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = width - u32::from(prefix);
    (a >> shift) == (b >> shift)
}

/// Parses an address the way the conditions accept it: surrounding whitespace is not allowed,
/// IPv6 zone ids are not accepted.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    IpAddr::from_str(text).ok()
}

const V4_PRIVATE: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 29),
    (Ipv4Addr::new(192, 0, 0, 170), 31),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
    (Ipv4Addr::new(255, 255, 255, 255), 32),
];

/// Shared address space (RFC 6598): neither private nor global.
const V4_SHARED: (Ipv4Addr, u8) = (Ipv4Addr::new(100, 64, 0, 0), 10);

const V6_PRIVATE: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1), 128),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 128),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
];

fn in_v4(ip: Ipv4Addr, (net, prefix): (Ipv4Addr, u8)) -> bool {
    Cidr {
        network: IpAddr::V4(net),
        prefix,
    }
    .contains(IpAddr::V4(ip))
}

fn in_v6(ip: Ipv6Addr, (net, prefix): (Ipv6Addr, u8)) -> bool {
    Cidr {
        network: IpAddr::V6(net),
        prefix,
    }
    .contains(IpAddr::V6(ip))
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged as their IPv4 address, as Python does.
fn ipv4_mapped(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    (s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff)
        .then(|| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
}

/// Python's `ip_address(x).is_private`.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => V4_PRIVATE.iter().any(|net| in_v4(v4, *net)),
        IpAddr::V6(v6) => match ipv4_mapped(v6) {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => V6_PRIVATE.iter().any(|net| in_v6(v6, *net)),
        },
    }
}

/// Python's `ip_address(x).is_global`.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !in_v4(v4, V4_SHARED) && !is_private(ip),
        IpAddr::V6(_) => !is_private(ip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        parse_ip(s).unwrap()
    }

    #[test]
    fn documentation_ranges_are_private_not_public() {
        for s in ["198.51.100.7", "192.0.2.1", "203.0.113.9", "2001:db8::1"] {
            assert!(is_private(ip(s)), "{s}");
            assert!(!is_global(ip(s)), "{s}");
        }
    }

    #[test]
    fn shared_space_is_neither() {
        assert!(!is_private(ip("100.64.1.1")));
        assert!(!is_global(ip("100.64.1.1")));
    }

    #[test]
    fn ordinary_addresses() {
        assert!(is_global(ip("8.8.8.8")));
        assert!(is_private(ip("10.0.1.100")));
        assert!(is_private(ip("::ffff:10.0.0.1")));
        assert!(is_global(ip("::ffff:8.8.8.8")));
        assert!(is_global(ip("2606:4700::1111")));
    }

    #[test]
    fn cidr_parsing_and_containment() {
        let net = Cidr::parse("10.1.2.3/8").unwrap();
        assert!(net.contains(ip("10.200.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("1.2.3.4")));
        assert!(Cidr::parse("2001:db8::/32")
            .unwrap()
            .contains(ip("2001:db8:ffff::1")));
        assert_eq!(Cidr::parse("1.2.3.4"), Cidr::parse("1.2.3.4/32"));
        for bad in ["1.2.3.4/33", "x/8", "1.2.3.4/", "::/129"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }
}
