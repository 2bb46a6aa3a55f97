//! What a restricted key may do: `resource:read` or `resource:write` per API resource. Write
//! includes read (a service that creates charges may also read them back), as in Stripe.

use std::collections::BTreeMap;
use std::fmt;

/// The API's resources as permissions name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Accounts,
    ExternalAccounts,
    AccountLinks,
    Files,
    Reviews,
    Events,
    Charges,
    Refunds,
    Transfers,
    Disputes,
    Balance,
    Payouts,
    FeeRules,
    WebhookEndpoints,
    TestClocks,
}

impl Resource {
    pub const ALL: [Resource; 15] = [
        Resource::Accounts,
        Resource::ExternalAccounts,
        Resource::AccountLinks,
        Resource::Files,
        Resource::Reviews,
        Resource::Events,
        Resource::Charges,
        Resource::Refunds,
        Resource::Transfers,
        Resource::Disputes,
        Resource::Balance,
        Resource::Payouts,
        Resource::FeeRules,
        Resource::WebhookEndpoints,
        Resource::TestClocks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Resource::Accounts => "accounts",
            Resource::ExternalAccounts => "external_accounts",
            Resource::AccountLinks => "account_links",
            Resource::Files => "files",
            Resource::Reviews => "reviews",
            Resource::Events => "events",
            Resource::Charges => "charges",
            Resource::Refunds => "refunds",
            Resource::Transfers => "transfers",
            Resource::Disputes => "disputes",
            Resource::Balance => "balance",
            Resource::Payouts => "payouts",
            Resource::FeeRules => "fee_rules",
            Resource::WebhookEndpoints => "webhook_endpoints",
            Resource::TestClocks => "test_clocks",
        }
    }

    fn parse(s: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One permission, `charges:write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub resource: Resource,
    pub access: Access,
}

impl Permission {
    pub const fn new(resource: Resource, access: Access) -> Self {
        Self { resource, access }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource.name(), self.access.name())
    }
}

/// A restricted key's grants: per resource the highest access given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions(BTreeMap<Resource, Access>);

/// Most permissions one key may list: one per resource and access, so a longer list only
/// repeats itself.
pub const MAX_PERMISSIONS: usize = 2 * Resource::ALL.len();

impl Permissions {
    /// Reads `charges:write,accounts:read` (also with spaces, or as separate items). Refuses
    /// an empty list (a key that can do nothing is a mistake), unknown resources or access
    /// levels, and more than [`MAX_PERMISSIONS`] items, naming the first bad item.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut grants = BTreeMap::new();
        let mut count = 0usize;
        for item in items
            .into_iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            count += 1;
            if count > MAX_PERMISSIONS {
                return Err(format!("at most {MAX_PERMISSIONS} permissions"));
            }
            let shown: String = item.chars().take(60).collect();
            let Some((resource, access)) = item.split_once(':') else {
                return Err(format!(
                    "'{shown}' is not a permission; write resource:read or resource:write, e.g. charges:write"
                ));
            };
            let Some(resource) = Resource::parse(resource) else {
                return Err(format!(
                    "'{shown}' names an unknown resource; known: {}",
                    Resource::ALL.map(Resource::name).join(", ")
                ));
            };
            let access = match access {
                "read" => Access::Read,
                "write" => Access::Write,
                _ => return Err(format!("'{shown}': the access must be read or write")),
            };
            let entry = grants.entry(resource).or_insert(access);
            *entry = (*entry).max(access);
        }
        if grants.is_empty() {
            return Err(
                "a restricted key needs at least one permission, e.g. charges:write".into(),
            );
        }
        Ok(Self(grants))
    }

    /// Whether these grants allow `needed` (write includes read).
    pub fn allows(&self, needed: Permission) -> bool {
        self.0
            .get(&needed.resource)
            .is_some_and(|granted| *granted >= needed.access)
    }

    /// Each grant, in resource order: what the key shows and stores.
    pub fn list(&self) -> Vec<Permission> {
        self.0
            .iter()
            .map(|(resource, access)| Permission::new(*resource, *access))
            .collect()
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.list().iter().map(ToString::to_string).collect();
        f.write_str(&items.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_merges_and_prints_canonically() {
        let p = Permissions::parse(["charges:write, accounts:read", "charges:read"]).unwrap();
        assert_eq!(p.to_string(), "accounts:read,charges:write");
        assert!(p.allows(Permission::new(Resource::Charges, Access::Read)));
        assert!(p.allows(Permission::new(Resource::Charges, Access::Write)));
        assert!(p.allows(Permission::new(Resource::Accounts, Access::Read)));
        assert!(!p.allows(Permission::new(Resource::Accounts, Access::Write)));
        assert!(!p.allows(Permission::new(Resource::Refunds, Access::Read)));
        // What is stored reads back the same.
        assert_eq!(Permissions::parse([p.to_string().as_str()]).unwrap(), p);
    }

    #[test]
    fn refuses_what_is_not_a_permission() {
        for bad in [
            "",
            " , ",
            "charges",
            "charge:write",
            "charges:admin",
            "charges:",
        ] {
            assert!(Permissions::parse([bad]).is_err(), "{bad:?}");
        }
        let many = vec!["charges:read"; MAX_PERMISSIONS + 1];
        assert!(Permissions::parse(many).is_err());
    }
}
