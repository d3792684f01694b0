//! The SSRF guard: webhook targets must be public addresses. At create/patch and again at
//! every delivery the host is resolved and every address checked; a delivery then connects
//! to the address that was checked, so a DNS answer that changes in between cannot redirect it
//! inside the network. `PORTICO_WEBHOOK_ALLOW_PRIVATE=true` lifts the guard (development, tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether an address is one a webhook may never reach: loopback, private, link-local,
/// unique-local, CGNAT, multicast, unspecified, broadcast or documentation ranges.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
}

/// Why a target was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the URL has no host")]
    NoHost,
    #[error("{host} does not resolve")]
    Unresolvable { host: String },
    #[error("{host} resolves to {ip}, a private or reserved address")]
    Private { host: String, ip: IpAddr },
}

/// Resolves the URL's host and checks every address; returns the one to connect to.
pub async fn check(url: &url::Url, allow_private: bool) -> Result<SocketAddr, Refused> {
    let host = url.host_str().ok_or(Refused::NoHost)?.trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| Refused::Unresolvable { host: host.clone() })?
            .collect(),
    };
    let first = *addrs.first().ok_or_else(|| Refused::Unresolvable { host: host.clone() })?;
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
        return Err(Refused::Private { host, ip: bad.ip() });
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_forbidden(bad.parse().unwrap()), "{bad}");
        }
        for good in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(!is_forbidden(good.parse().unwrap()), "{good}");
        }
    }

    #[tokio::test]
    async fn ip_literals_are_checked_without_any_connection() {
        let loopback = url::Url::parse("http://127.0.0.1:9/hook").unwrap();
        assert!(matches!(check(&loopback, false).await, Err(Refused::Private { .. })));
        assert_eq!(check(&loopback, true).await.unwrap(), "127.0.0.1:9".parse().unwrap());
        let v6 = url::Url::parse("http://[::1]:8080/hook").unwrap();
        assert!(check(&v6, false).await.is_err());
        let public = url::Url::parse("https://93.184.216.34/hook").unwrap();
        assert_eq!(check(&public, false).await.unwrap(), "93.184.216.34:443".parse().unwrap());
    }
}
