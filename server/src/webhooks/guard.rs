//! The SSRF guard: webhook targets must be public addresses. At create/patch and again at
//! every delivery the host is resolved and every address checked; a delivery then connects
//! to the address that was checked, so a DNS answer that changes in between cannot redirect it
//! inside the network. `PORTICO_WEBHOOK_ALLOW_PRIVATE=true` lifts the guard (development, tests).
//!
//! Names are resolved by the machine's resolver, or — `PORTICO_RESOLVE=static:…`, what every
//! test and CI run uses — by a fixed map in which `localhost` and the names listed resolve
//! and every other name is refused without a lookup, so that a test never asks DNS about a
//! name that is not on this machine.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// IPv4 ranges a webhook may never reach: every entry of IANA's IPv4 Special-Purpose Address
/// Registry (RFC 6890 and its updates), plus multicast — whatever its "globally reachable"
/// column says, since none of them is where a webhook receiver lives.
const FORBIDDEN_V4: &[&str] = &[
    "0.0.0.0/8",       // "this network" (RFC 791)
    "10.0.0.0/8",      // private (RFC 1918)
    "100.64.0.0/10",   // shared address space, CGNAT (RFC 6598)
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local, cloud metadata services (RFC 3927)
    "172.16.0.0/12",   // private
    "192.0.0.0/24",    // IETF protocol assignments: DS-Lite, PCP/TURN anycast, NAT64 discovery
    "192.0.2.0/24",    // documentation TEST-NET-1
    "192.31.196.0/24", // AS112-v4
    "192.52.193.0/24", // AMT
    "192.88.99.0/24",  // deprecated 6to4 relay anycast
    "192.168.0.0/16",  // private
    "192.175.48.0/24", // AS112 direct delegation
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation TEST-NET-2
    "203.0.113.0/24",  // documentation TEST-NET-3
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
];

/// IPv6 ranges a webhook may never reach, from IANA's IPv6 Special-Purpose Address Registry.
/// Beyond these, only global unicast (`2000::/3`) is allowed at all; the two forms that carry
/// an IPv4 address a packet really goes to (IPv4-mapped, and NAT64's well-known prefix, which
/// DNS64 hands out for public IPv4 hosts) are judged by the IPv4 address they embed.
const FORBIDDEN_V6: &[&str] = &[
    "::/128",            // unspecified
    "::1/128",           // loopback
    "::/96",             // IPv4-compatible (deprecated): ::127.0.0.1
    "::ffff:0:0:0/96",   // IPv4-translated (SIIT)
    "64:ff9b:1::/48",    // local-use IPv4/IPv6 translation (RFC 8215)
    "100::/64",          // discard-only
    "2001::/23",         // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID, AMT…
    "2001:db8::/32",     // documentation
    "2002::/16",         // 6to4: the IPv4 address is embedded, whatever it is
    "2620:4f:8000::/48", // AS112-v6
    "3fff::/20",         // documentation (RFC 9637)
    "5f00::/16",         // SRv6 SIDs
    "fc00::/7",          // unique local
    "fe80::/10",         // link-local
    "fec0::/10",         // site-local (deprecated)
    "ff00::/8",          // multicast
];

static FORBIDDEN: LazyLock<(Vec<Ipv4Net>, Vec<Ipv6Net>)> = LazyLock::new(|| {
    let nets =
        |list: &[&str]| list.iter().map(|n| n.parse::<IpNet>().expect("valid CIDR")).collect::<Vec<_>>();
    let v4 = nets(FORBIDDEN_V4).into_iter().filter_map(|n| if let IpNet::V4(n) = n { Some(n) } else { None });
    let v6 = nets(FORBIDDEN_V6).into_iter().filter_map(|n| if let IpNet::V6(n) = n { Some(n) } else { None });
    (v4.collect(), v6.collect())
});

/// Whether an address is one a webhook may never reach (see [`FORBIDDEN_V4`] and
/// [`FORBIDDEN_V6`]).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    FORBIDDEN.0.iter().any(|net| net.contains(&ip))
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    let nat64: Ipv6Net = "64:ff9b::/96".parse().expect("valid CIDR");
    if nat64.contains(&ip) {
        let [.., a, b, c, d] = ip.octets();
        return is_forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    let global_unicast = (ip.segments()[0] & 0xe000) == 0x2000;
    !global_unicast || FORBIDDEN.1.iter().any(|net| net.contains(&ip))
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

/// How webhook hosts' names become addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Resolver {
    /// The machine's resolver.
    #[default]
    System,
    /// A fixed map: `localhost` (127.0.0.1 and ::1) and the names listed; any other name is
    /// refused without a lookup.
    Static(Arc<BTreeMap<String, Vec<IpAddr>>>),
}

impl Resolver {
    /// `system`, or `static:` followed by `name=address` pairs separated by commas (a name may
    /// be listed more than once): `static:` alone resolves `localhost` only.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text == "system" {
            return Ok(Self::System);
        }
        let Some(entries) = text.strip_prefix("static:") else {
            return Err(format!("must be `system` or `static:name=address,…`, not {text:?}"));
        };
        let mut map: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        for entry in entries.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, address) =
                entry.split_once('=').ok_or_else(|| format!("{entry:?} is not name=address"))?;
            let ip: IpAddr = address
                .trim()
                .parse()
                .map_err(|_| format!("{address:?} (for {name}) is not an IP address"))?;
            map.entry(name.trim().to_ascii_lowercase()).or_default().push(ip);
        }
        Ok(Self::Static(Arc::new(map)))
    }

    /// The addresses of `host` (a name, not an IP literal); `None` when it does not resolve.
    async fn lookup(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        match self {
            Self::System => tokio::net::lookup_host((host, port)).await.ok().map(Iterator::collect),
            Self::Static(map) => {
                let host = host.trim_end_matches('.').to_ascii_lowercase();
                let ips = match map.get(&host) {
                    Some(ips) => ips.clone(),
                    None if host == "localhost" => {
                        vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]
                    }
                    None => return None,
                };
                Some(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
            }
        }
    }
}

/// Resolves the URL's host and checks every address; returns the one to connect to.
pub async fn check(url: &url::Url, allow_private: bool, resolver: &Resolver) -> Result<SocketAddr, Refused> {
    let host = url.host_str().ok_or(Refused::NoHost)?.trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            resolver.lookup(&host, port).await.ok_or_else(|| Refused::Unresolvable { host: host.clone() })?
        }
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

    #[tokio::test]
    async fn a_static_resolver_answers_its_names_and_localhost_and_refuses_the_rest() {
        let resolver = Resolver::parse("static: hooks.test=127.0.0.2, hooks.test=::1").unwrap();
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert_eq!(
            check(&url("http://HOOKS.test:8080/x"), true, &resolver).await.unwrap(),
            "127.0.0.2:8080".parse().unwrap()
        );
        assert_eq!(
            check(&url("http://localhost/x"), true, &resolver).await.unwrap(),
            "127.0.0.1:80".parse().unwrap()
        );
        for refused in ["https://example.com/x", "https://hooks.test.example/x"] {
            assert!(matches!(check(&url(refused), true, &resolver).await, Err(Refused::Unresolvable { .. })));
        }
        // Private answers are refused as any are, unless allowed.
        assert!(matches!(
            check(&url("http://hooks.test/x"), false, &resolver).await,
            Err(Refused::Private { .. })
        ));
        assert_eq!(Resolver::parse("system").unwrap(), Resolver::System);
        assert_eq!(Resolver::parse("static:").unwrap(), Resolver::Static(Arc::default()));
        for bad in ["dns", "static:hooks.test", "static:hooks.test=not-an-ip"] {
            assert!(Resolver::parse(bad).is_err(), "{bad}");
        }
    }

    /// Every form the security probe got through (accepted as webhook URLs with 201), and
    /// one address from every registry entry, each with why it must be refused.
    const REFUSED: &[(&str, &str)] = &[
        ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"),
        ("64:ff9b::7f00:1", "NAT64 form of 127.0.0.1"),
        ("64:ff9b::a00:1", "NAT64 form of 10.0.0.1"),
        ("64:ff9b:1::a9fe:a9fe", "local-use NAT64"),
        ("2002:7f00:1::", "6to4 of 127.0.0.1"),
        ("2002:a9fe:a9fe::", "6to4 of 169.254.169.254"),
        ("2002:5db8:d822::", "6to4 of a public address: 6to4 is refused whole"),
        ("::127.0.0.1", "IPv4-compatible loopback"),
        ("::5db8:d822", "IPv4-compatible, deprecated"),
        ("::ffff:0:7f00:1", "IPv4-translated 127.0.0.1"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"),
        ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
        ("100::1", "discard-only"),
        ("2001::1", "Teredo"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo client"),
        ("2001:2::1", "benchmarking"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation (RFC 9637)"),
        ("2620:4f:8000::1", "AS112-v6"),
        ("5f00::1", "SRv6"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fd00::1", "unique local"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("4000::1", "not global unicast"),
        ("0.0.0.0", "this network"),
        ("0.1.2.3", "this network"),
        ("10.1.2.3", "private"),
        ("100.64.0.1", "CGNAT"),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("169.254.169.254", "link-local metadata"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.0.0.170", "NAT64 discovery"),
        ("192.0.2.1", "TEST-NET-1"),
        ("192.31.196.1", "AS112"),
        ("192.52.193.1", "AMT"),
        ("192.88.99.1", "6to4 relay"),
        ("192.168.1.1", "private"),
        ("192.175.48.1", "AS112"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.255", "benchmarking"),
        ("198.51.100.1", "TEST-NET-2"),
        ("203.0.113.1", "TEST-NET-3"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
    ];

    #[test]
    fn every_special_purpose_form_is_forbidden_in_both_families() {
        for (ip, why) in REFUSED {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} ({why}) must be refused");
        }
        for good in [
            "93.184.216.34",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822", // DNS64's form of a public IPv4 host
        ] {
            assert!(!is_forbidden(good.parse().unwrap()), "{good} is public");
        }
    }

    #[tokio::test]
    async fn bracketed_ipv6_literals_in_urls_are_refused_without_any_connection() {
        for (ip, why) in REFUSED.iter().filter(|(ip, _)| ip.contains(':')) {
            let url = url::Url::parse(&format!("http://[{ip}]/hook")).unwrap();
            assert!(
                matches!(check(&url, false, &Resolver::System).await, Err(Refused::Private { .. })),
                "{ip} ({why})"
            );
        }
    }

    #[tokio::test]
    async fn ip_literals_are_checked_without_any_connection() {
        let loopback = url::Url::parse("http://127.0.0.1:9/hook").unwrap();
        assert!(matches!(check(&loopback, false, &Resolver::System).await, Err(Refused::Private { .. })));
        assert_eq!(check(&loopback, true, &Resolver::System).await.unwrap(), "127.0.0.1:9".parse().unwrap());
        let v6 = url::Url::parse("http://[::1]:8080/hook").unwrap();
        assert!(check(&v6, false, &Resolver::System).await.is_err());
        let public = url::Url::parse("https://93.184.216.34/hook").unwrap();
        assert_eq!(
            check(&public, false, &Resolver::System).await.unwrap(),
            "93.184.216.34:443".parse().unwrap()
        );
    }
}
