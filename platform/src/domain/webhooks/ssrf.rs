//! The SSRF guard: every address a webhook URL's host resolves to must be a public unicast
//! address, in both modes (live mode also requires https). Without it, anyone with a test key
//! could point an endpoint at an internal address and read status, error and latency from the
//! attempts log: a port scanner of the platform's network. Checked when an endpoint is saved
//! and again before each delivery (DNS can change), and both clients' resolvers drop forbidden
//! addresses too, so a name cannot switch to a private address between check and connect. The
//! only escape is the operator's `webhook_allow_private_targets`, for test mode only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use reqwest::Url;

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// A slow resolver must not hold a request or a delivery slot for long.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// IPv4 blocks that are not globally reachable, after IANA's IPv4 Special-Purpose Address
/// Registry (the ranges std's unstable `Ipv4Addr::is_global` excludes), plus multicast, which
/// is global but never a webhook receiver. Stricter than the registry in one place: all of
/// 192.0.0.0/24, including the two anycast services it calls global.
const FORBIDDEN_V4: &[Ipv4Net] = &[
    v4(0, 0, 0, 0, 8),       // "this network" (RFC 791), with 0.0.0.0 unspecified
    v4(10, 0, 0, 0, 8),      // private (RFC 1918)
    v4(100, 64, 0, 0, 10),   // shared address space, carrier-grade NAT (RFC 6598)
    v4(127, 0, 0, 0, 8),     // loopback
    v4(169, 254, 0, 0, 16),  // link-local, cloud metadata (RFC 3927)
    v4(172, 16, 0, 0, 12),   // private
    v4(192, 0, 0, 0, 24),    // IETF protocol assignments (RFC 6890)
    v4(192, 0, 2, 0, 24),    // documentation TEST-NET-1 (RFC 5737)
    v4(192, 88, 99, 0, 24),  // 6to4 relay anycast, deprecated (RFC 7526)
    v4(192, 168, 0, 0, 16),  // private
    v4(198, 18, 0, 0, 15),   // benchmarking (RFC 2544)
    v4(198, 51, 100, 0, 24), // documentation TEST-NET-2
    v4(203, 0, 113, 0, 24),  // documentation TEST-NET-3
    v4(224, 0, 0, 0, 4),     // multicast
    v4(240, 0, 0, 0, 4),     // reserved (RFC 1112), with 255.255.255.255 broadcast
];

/// IPv6 blocks inside global unicast (2000::/3) that are not globally reachable, after IANA's
/// IPv6 Special-Purpose Address Registry. Stricter than the registry: all of 2001::/23 (it
/// calls a few anycast and ORCHID blocks in there global; no receiver lives in them).
const FORBIDDEN_V6: &[Ipv6Net] = &[
    v6(0x2001, 0, 23), // IETF protocol assignments: Teredo, benchmarking, ORCHID (RFC 2928)
    v6(0x2001, 0x0db8, 32), // documentation (RFC 3849)
    v6(0x3fff, 0, 20), // documentation (RFC 9637)
];

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(first: u16, second: u16, prefix: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(first, second, 0, 0, 0, 0, 0, 0), prefix)
}

/// 2000::/3: the only IPv6 space IANA allocates for global unicast. Everything outside it is
/// loopback, unspecified, IPv4-compatible (::/96, deprecated), IPv4-mapped or -translated,
/// NAT64, discard-only (100::/64), unique local (fc00::/7), link-local (fe80::/10), site-local
/// (fec0::/10, deprecated), multicast (ff00::/8) or unassigned.
const GLOBAL_UNICAST_V6: Ipv6Net = v6(0x2000, 0, 3);
/// NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
const NAT64: Ipv6Net = v6(0x0064, 0xff9b, 96);
/// 6to4 (RFC 3056): bits 16..48 are the IPv4 address the packet is tunnelled to.
const SIX_TO_FOUR: Ipv6Net = v6(0x2002, 0, 16);

/// Addresses a webhook may never reach: anything not globally reachable (loopback, private,
/// link-local and metadata, shared, unspecified, documentation, benchmarking, reserved,
/// deprecated), multicast and broadcast. An IPv6 address carrying an IPv4 one (IPv4-mapped,
/// NAT64, 6to4) is judged by the IPv4 address it reaches.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_forbidden_v4(a),
        IpAddr::V6(a) => match embedded_v4(a) {
            Some(v4) => is_forbidden_v4(v4),
            None => is_forbidden_v6(a),
        },
    }
}

fn is_forbidden_v4(a: Ipv4Addr) -> bool {
    FORBIDDEN_V4.iter().any(|net| net.contains(&a))
}

fn is_forbidden_v6(a: Ipv6Addr) -> bool {
    !GLOBAL_UNICAST_V6.contains(&a) || FORBIDDEN_V6.iter().any(|net| net.contains(&a))
}

/// The IPv4 address an IPv6 one reaches, for the forms that route to one: IPv4-mapped
/// (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::). IPv4-compatible
/// (::a.b.c.d) is not among them: deprecated (RFC 4291), it is refused with all of ::/96.
fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = a.to_ipv4_mapped() {
        return Some(v4);
    }
    let o = a.octets();
    if NAT64.contains(&a) {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if SIX_TO_FOUR.contains(&a) {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// Parses `raw`, checks the scheme, resolves the host and refuses forbidden addresses. With
/// `allow_private` (the operator's `webhook_allow_private_targets`) a test-mode URL skips the
/// address check; a live one never does. The error is a message for the `url` parameter.
pub async fn check_url(raw: &str, livemode: bool, allow_private: bool) -> Result<Url, String> {
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
    if allow_private && !livemode {
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
        // The resolved address is not named: the server's DNS may know internal names the
        // caller must not learn. Test mode names the operator's escape for local receivers.
        let hint = if livemode {
            ""
        } else {
            " (for a receiver on your own machine in test mode, the operator can set webhook_allow_private_targets)"
        };
        return Err(format!(
            "url must resolve to public addresses only, not to a loopback, private, \
             link-local, shared, multicast, broadcast, documentation or reserved one{hint}"
        ));
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

/// The clients' resolver: the system's answer without forbidden addresses, so a connection
/// can only go to an address the guard allows (an IP literal is not resolved: `check_url`
/// judges it before every attempt).
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
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
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

    /// Every special-purpose range (IANA's IPv4 and IPv6 registries) that is not globally
    /// reachable, and every way of writing an IPv4 address inside an IPv6 one.
    #[test]
    fn classifies_special_purpose_ranges() {
        for (bad, why) in [
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("0.255.255.255", "this network"),
            ("100.64.0.1", "shared (CGN)"),
            ("100.127.255.254", "shared (CGN)"),
            ("192.0.0.1", "IETF protocol assignments"),
            ("192.0.0.9", "IETF protocol assignments"),
            ("192.0.0.255", "IETF protocol assignments"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.200", "documentation"),
            ("192.88.99.1", "6to4 relay anycast"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("250.1.2.3", "reserved"),
            ("255.255.255.254", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::1.2.3.4", "IPv4-compatible (deprecated)"),
            ("::127.0.0.1", "IPv4-compatible loopback"),
            ("::169.254.169.254", "IPv4-compatible metadata"),
            ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
            ("::ffff:192.0.2.1", "IPv4-mapped documentation"),
            ("::ffff:100.64.0.1", "IPv4-mapped shared"),
            ("::ffff:0:7f00:1", "IPv4-translated"),
            ("64:ff9b::7f00:1", "NAT64 of loopback"),
            ("64:ff9b::169.254.169.254", "NAT64 of metadata"),
            ("64:ff9b::10.1.2.3", "NAT64 of private"),
            ("64:ff9b:1::8.8.8.8", "local-use NAT64"),
            ("2002:7f00:1::1", "6to4 of loopback"),
            ("2002:a9fe:a9fe::1", "6to4 of metadata"),
            ("2002:c0a8:101::1", "6to4 of private"),
            ("100::1", "discard-only"),
            ("2001::1", "Teredo"),
            ("2001:2::1", "benchmarking"),
            ("2001:20::1", "ORCHIDv2"),
            ("2001:db8::1", "documentation"),
            ("3fff::1", "documentation"),
            ("fec0::1", "site-local (deprecated)"),
            ("feff::1", "site-local (deprecated)"),
            ("fc00::1", "unique local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("ff0e::1", "multicast"),
            ("4000::1", "not allocated for global unicast"),
            ("::2", "reserved by IETF"),
        ] {
            assert!(is_forbidden(ip(bad)), "{bad} ({why}) must be forbidden");
        }
        for good in [
            "1.1.1.1",
            "9.9.9.9",
            "100.63.255.255",
            "100.128.0.1",
            "192.0.1.1",
            "192.0.3.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(!is_forbidden(ip(good)), "{good} must be allowed");
        }
    }

    #[tokio::test]
    async fn live_urls_must_be_https_and_public() {
        assert!(check_url("http://example.com/x", true, false)
            .await
            .is_err());
        for url in [
            "https://127.0.0.1/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/x",
            "https://[::1]/x",
            "https://localhost/x",
            "https://u:p@1.1.1.1/x",
        ] {
            assert!(check_url(url, true, false).await.is_err(), "{url}");
            // Allowing private targets is for test mode only.
            assert!(check_url(url, true, true).await.is_err(), "{url}");
        }
        assert!(check_url("https://1.1.1.1/hook", true, false).await.is_ok());
        assert!(check_url("ftp://localhost/hook", false, true)
            .await
            .is_err());
    }

    /// Issue #15: test mode may use http, but not reach internal addresses, unless the
    /// operator allows private targets.
    #[tokio::test]
    async fn test_urls_are_guarded_unless_private_targets_are_allowed() {
        for url in [
            "http://127.0.0.1:6379/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:8000/hook",
            "http://[::1]/x",
            "http://[::ffff:10.0.0.1]/x",
            "http://0x7f.1/x",
        ] {
            assert!(check_url(url, false, false).await.is_err(), "{url}");
            assert!(check_url(url, false, true).await.is_ok(), "{url}");
        }
        assert!(check_url("http://1.1.1.1/hook", false, false).await.is_ok());
    }
}
