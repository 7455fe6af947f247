#!/usr/bin/env python3
"""Records CPython's view of private/global addresses for tests/integration/ip_python.rs.

Run with CPython 3.11: python3 tests/data/ip_python.py > tests/data/ip_python.tsv
Addresses: the edges of every special-purpose range plus a deterministic random sample.
"""
import ipaddress
import random
import sys

RANGES = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.0.0/29", "192.0.0.170/31", "192.0.2.0/24",
    "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
    "2001::/23", "2001:2::/48", "2001:db8::/32", "2001:10::/28", "2001:20::/28", "2002::/16",
    "fc00::/7", "fe80::/10", "ff00::/8",
]

def edges(net):
    n = ipaddress.ip_network(net)
    out = [n.network_address, n.broadcast_address]
    for addr in (int(n.network_address) - 1, int(n.broadcast_address) + 1):
        if 0 <= addr < 2 ** n.max_prefixlen:
            out.append(ipaddress.ip_address(addr) if n.version == 4 else ipaddress.IPv6Address(addr))
    return out

def main():
    rng = random.Random(20241117)
    addrs = []
    for net in RANGES:
        addrs.extend(edges(net))
    for _ in range(400):
        addrs.append(ipaddress.IPv4Address(rng.getrandbits(32)))
    for _ in range(200):
        addrs.append(ipaddress.IPv6Address(rng.getrandbits(128)))
    for _ in range(50):
        addrs.append(ipaddress.IPv6Address("::ffff:" + str(ipaddress.IPv4Address(rng.getrandbits(32)))))
    out = sys.stdout
    out.write(f"# address\tis_private\tis_global (CPython {sys.version.split()[0]})\n")
    seen = set()
    for a in addrs:
        if a in seen:
            continue
        seen.add(a)
        out.write(f"{a}\t{a.is_private}\t{a.is_global}\n")

main()
