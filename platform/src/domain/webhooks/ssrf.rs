//! The SSRF guard: in live mode a webhook URL must be https and every address its host
//! resolves to must be a public unicast address. Checked when an endpoint is saved and again
//! before each delivery (DNS can change), and the live client's resolver drops forbidden
//! addresses too, so a name cannot switch to a private address between check and connect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// A slow resolver must not hold a request or a delivery slot for long.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// Addresses a live-mode webhook may never reach: loopback, private (RFC 1918, fc00::/7),
/// link-local (169.254/16, fe80::/10), unspecified, multicast, broadcast, "this network"
/// (0/8) and carrier-grade NAT (100.64/10), also when written as IPv4-mapped IPv6.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_forbidden_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_forbidden_v4(v4);
            }
            is_forbidden_v6(a)
        }
    }
}

fn is_forbidden_v4(a: Ipv4Addr) -> bool {
    let [first, second, ..] = a.octets();
    a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_multicast()
        || a.is_broadcast()
        || first == 0
        || (first == 100 && (64..128).contains(&second))
}

fn is_forbidden_v6(a: Ipv6Addr) -> bool {
    let first = a.segments()[0];
    a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

/// Parses `raw` and checks the scheme; in live mode also resolves the host and refuses
/// forbidden addresses. The error is a message for the `url` parameter.
pub async fn check_url(raw: &str, livemode: bool) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("url can be at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("url is not a valid URL: {e}"))?;
    match (url.scheme(), livemode) {
        ("https", _) | ("http", false) => {}
        (_, true) => return Err("url must use https in live mode".to_owned()),
        (_, false) => return Err("url must use http or https".to_owned()),
    }
    // Credentials in a URL would be shown in the endpoint object and logs.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url must not contain a user name or password".to_owned());
    }
    let Some(host) = url.host() else {
        return Err("url must have a host".to_owned());
    };
    if !livemode {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match host {
        url::Host::Ipv4(a) => vec![IpAddr::V4(a)],
        url::Host::Ipv6(a) => vec![IpAddr::V6(a)],
        url::Host::Domain(name) => resolve(name, port).await?,
    };
    if addrs.is_empty() {
        return Err("url's host does not resolve".to_owned());
    }
    if addrs.iter().any(|a| is_forbidden(*a)) {
        return Err(
            "url must not resolve to a loopback, private, link-local, multicast or broadcast address in live mode"
                .to_owned(),
        );
    }
    Ok(url)
}

async fn resolve(name: &str, port: u16) -> Result<Vec<IpAddr>, String> {
    match tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host((name, port))).await {
        Ok(Ok(addrs)) => Ok(addrs.map(|a: SocketAddr| a.ip()).collect()),
        Ok(Err(_)) => Err("url's host does not resolve".to_owned()),
        Err(_) => Err("url's host did not resolve in time".to_owned()),
    }
}

/// The live client's resolver: the system's answer without forbidden addresses, so a
/// connection can only go to an address the guard allows.
pub struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0)))
                    .await
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)??
                    .filter(|a| !is_forbidden(a.ip()))
                    .collect();
            if addrs.is_empty() {
                return Err("no permitted address".into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn classifies_addresses() {
        for bad in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_forbidden(ip(bad)), "{bad} must be forbidden");
        }
        for good in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_forbidden(ip(good)), "{good} must be allowed");
        }
    }

    #[tokio::test]
    async fn live_urls_must_be_https_and_public() {
        assert!(check_url("http://example.com/x", true).await.is_err());
        for url in [
            "https://127.0.0.1/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/x",
            "https://[::1]/x",
            "https://localhost/x",
            "https://u:p@1.1.1.1/x",
        ] {
            assert!(check_url(url, true).await.is_err(), "{url}");
        }
        assert!(check_url("https://1.1.1.1/hook", true).await.is_ok());
        assert!(check_url("http://localhost:8000/hook", false).await.is_ok());
        assert!(check_url("ftp://localhost/hook", false).await.is_err());
    }
}
