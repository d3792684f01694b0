//! The client's IP address: the socket peer — or, when the peer is a proxy listed in
//! `PORTICO_TRUSTED_PROXIES`, the address that proxy reports in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is read from the right: each trusted proxy appends the address it saw,
//! so the first address from the right that is not a trusted proxy is the client. Anything
//! further left was written by the client itself and proves nothing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// A client's network, as limits count clients: an IPv4 address alone, an IPv6 address by
/// its /64 (one subscriber's allocation: a single host can draw 2^64 addresses from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    V4(u32),
    V6Prefix(u64),
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::V4(bits) => write!(f, "4-{bits:08x}"),
            Self::V6Prefix(bits) => write!(f, "6-{bits:016x}"),
        }
    }
}

impl From<IpAddr> for Network {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4.to_bits()),
            IpAddr::V6(v6) => Self::V6Prefix((v6.to_bits() >> 64) as u64),
        }
    }
}

/// The IP address the request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(&parts.extensions, &parts.headers, &state.config.trusted_proxies)))
    }
}

/// The client address of a request (see the module documentation).
pub fn client_ip(extensions: &axum::http::Extensions, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    // The server always provides `ConnectInfo`; an in-process call without a socket (tests
    // using `oneshot`) counts as loopback.
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ConnectInfo(addr)| addr.ip().to_canonical());
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip.to_canonical()) => continue,
            Ok(ip) => return ip.to_canonical(),
            // A garbled hop: nothing left of it can be trusted; the last trusted hop is it.
            Err(_) => break,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip_of(peer: &str, xff: &[&str], trusted: &[&str]) -> IpAddr {
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 1234)));
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_ip(&extensions, &headers, &trusted)
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        // Untrusted peer: its header is ignored.
        assert_eq!(ip_of("198.51.100.9", &["1.2.3.4"], &[]), "198.51.100.9".parse::<IpAddr>().unwrap());
        // Trusted peer: the rightmost untrusted hop is the client.
        assert_eq!(
            ip_of("10.0.0.2", &["6.6.6.6, 203.0.113.5, 10.0.0.1"], &["10.0.0.0/8"]),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        // Trusted peer without a header: the peer.
        assert_eq!(ip_of("10.0.0.2", &[], &["10.0.0.0/8"]), "10.0.0.2".parse::<IpAddr>().unwrap());
        // Several header lines read as one list.
        assert_eq!(
            ip_of("10.0.0.2", &["203.0.113.5", "10.0.0.3"], &["10.0.0.0/8"]),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
    }
}
