//! `docs/permissions.md`: what each role may do, generated from the spec's `x-required-role`
//! (the same annotations the dashboard's layer enforces), so the table cannot drift.

use std::fmt::Write;

use serde_json::Value;

use super::text;
use crate::accounts::Role;

/// Roles from the least to the most.
const ROLES: [Role; 4] = [Role::Viewer, Role::Developer, Role::Admin, Role::Owner];

/// The permission table, as a markdown page.
pub fn permissions_md(doc: &Value) -> String {
    let mut out = String::from(
        "<!-- Written by `cargo xtask gen` from the spec's `x-required-role`: do not edit by hand. -->\n\n\
         # Roles and permissions\n\n\
         Every member of an organisation has one role. Each role can do everything the roles\n\
         before it can:\n\n\
         - **viewer** reads keys, usage, the request log, docs and webhooks; it changes nothing and\n  \
           spends no calls (no playground).\n\
         - **developer** also manages keys, domains and webhook endpoints, and uses the playground.\n\
         - **admin** also manages members, invitations and the organisation's settings, and reads\n  \
           the audit log.\n\
         - **owner** also makes, invites, demotes and removes owners. The last owner can be neither\n  \
           demoted nor removed.\n\n\
         Each dashboard operation declares the least role it needs in its `x-required-role`; the\n\
         server reads them at start-up and refuses the rest with 403 `insufficient_role`, naming\n\
         the role needed. `/v1` operations take an API key and its scopes instead\n\
         (`x-required-scope`), whoever made the key.\n\n\
         | Operation | | Needs | Viewer | Developer | Admin | Owner |\n\
         |---|---|---|:-:|:-:|:-:|:-:|\n",
    );
    let mut rows: Vec<(String, String, String, Role)> = Vec::new();
    for (method, path, op) in crate::openapi::operations(doc) {
        let Some(role) = crate::accounts::roles::required_role(op) else { continue };
        rows.push((text(op, "summary").to_owned(), method.to_ascii_uppercase(), path.to_owned(), role));
    }
    rows.sort_by(|a, b| (a.2.as_str(), a.1.as_str()).cmp(&(b.2.as_str(), b.1.as_str())));
    for (summary, method, path, needed) in rows {
        let marks: Vec<&str> = ROLES.iter().map(|r| if r.includes(needed) { "✓" } else { "" }).collect();
        let _ = writeln!(out, "| {summary} | `{method} {path}` | {needed} | {} |", marks.join(" | "));
    }
    out.push_str(
        "\nHandlers check two things beyond the table: only an owner may make someone an owner,\n\
         change an owner's role, invite an owner or remove one; and an organisation always keeps\n\
         at least one owner (409 `conflict`).\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_dashboard_operation_with_its_role() {
        let doc = crate::openapi::document();
        let page = permissions_md(&doc);
        let operations = crate::openapi::operations(&doc)
            .into_iter()
            .filter(|(_, _, op)| crate::openapi::takes_session(op))
            .count();
        assert_eq!(page.lines().filter(|l| l.starts_with("| ") && l.contains("`")).count(), operations);
        assert!(page.contains("| `POST /api/developer/apikeys` | developer |  | ✓ | ✓ | ✓ |"), "{page}");
        assert!(page.contains("`GET /api/developer/audit-log` | admin |  |  | ✓ | ✓ |"), "{page}");
    }
}
