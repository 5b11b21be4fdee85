//! Filter rules that tools take on the command line and keep in maps:
//! address prefixes for LPM tries, protocol/port pairs for hash maps.

use anyhow::{Context, Result};
use std::net::IpAddr;

/// A map entry to write after loading: (map, key, value).
pub type MapEntry = (String, Vec<u8>, Vec<u8>);

/// `10.0.0.0/8,fd00::/8,192.0.2.1` → LPM trie entries in `v4` or `v6`:
/// key `{u32 prefixlen; u8 addr[4|16]}` (address in network order), value
/// the prefix length.
pub fn prefixes(text: &str, v4: &str, v6: &str) -> Result<Vec<MapEntry>> {
    items(text)
        .map(|item| {
            let (addr, len) = match item.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (item, None),
            };
            let addr: IpAddr = addr
                .parse()
                .with_context(|| format!("'{item}' is not an address or prefix"))?;
            let (map, bytes) = match addr {
                IpAddr::V4(a) => (v4, a.octets().to_vec()),
                IpAddr::V6(a) => (v6, a.octets().to_vec()),
            };
            let max = bytes.len() as u32 * 8;
            let len = match len {
                Some(l) => l
                    .parse::<u32>()
                    .ok()
                    .filter(|&l| l <= max)
                    .with_context(|| format!("'{item}': the prefix length must be 0..={max}"))?,
                None => max,
            };
            let mut key = len.to_ne_bytes().to_vec();
            key.extend_from_slice(&bytes);
            Ok((map.to_string(), key, len.to_ne_bytes().to_vec()))
        })
        .collect()
}

/// `tcp:80,udp,icmp,47` → hash keys `{u8 proto; u8 pad; u16 port}` (port in
/// host order, 0 for every port).
pub fn ports(text: &str) -> Result<Vec<Vec<u8>>> {
    items(text)
        .map(|item| {
            let (proto, port) = match item.split_once(':') {
                Some((p, port)) => (p, Some(port)),
                None => (item, None),
            };
            let proto: u8 = match proto.to_ascii_lowercase().as_str() {
                "icmp" => 1,
                "tcp" => 6,
                "udp" => 17,
                "icmpv6" | "ipv6-icmp" => 58,
                "sctp" => 132,
                other => other
                    .parse()
                    .with_context(|| format!("'{item}': unknown protocol '{proto}'"))?,
            };
            let port: u16 = match port {
                Some(p) => p
                    .parse()
                    .with_context(|| format!("'{item}': '{p}' is not a port"))?,
                None => 0,
            };
            let mut key = vec![proto, 0];
            key.extend_from_slice(&port.to_ne_bytes());
            Ok(key)
        })
        .collect()
}

fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_by_family() {
        let rules = prefixes("10.0.0.0/8, 192.0.2.1,fd00::/8", "v4", "v6").unwrap();
        assert_eq!(rules[0].0, "v4");
        assert_eq!(
            rules[0].1,
            [&8u32.to_ne_bytes()[..], &[10, 0, 0, 0]].concat()
        );
        assert_eq!(rules[0].2, 8u32.to_ne_bytes());
        assert_eq!(rules[1].1[..4], 32u32.to_ne_bytes());
        assert_eq!(rules[2].0, "v6");
        assert_eq!(rules[2].1.len(), 20);
        assert!(prefixes("10.0.0.0/33", "v4", "v6").is_err());
        assert!(prefixes("nonsense", "v4", "v6").is_err());
    }

    #[test]
    fn ports_by_protocol() {
        let rules = ports("tcp:80,udp,47").unwrap();
        assert_eq!(rules[0], [&[6u8, 0][..], &80u16.to_ne_bytes()].concat());
        assert_eq!(rules[1], [17, 0, 0, 0]);
        assert_eq!(rules[2], [47, 0, 0, 0]);
        assert!(ports("tcp:http").is_err());
        assert!(ports("bogus").is_err());
    }
}
