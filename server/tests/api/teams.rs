//! Teams: members, roles, invitations, organisation settings — every dashboard operation
//! against every role, as each operation's `x-required-role` declares.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestServer, assert_problem, storage_tests};

storage_tests!(
    every_dashboard_operation_answers_each_role_as_its_annotation_says,
    an_invitation_works_once_for_its_email_until_it_expires_or_is_revoked,
    a_signed_in_user_accepts_an_invitation_and_switches_between_organisations,
    the_last_owner_can_be_neither_demoted_nor_removed_and_only_owners_manage_owners,
    a_removed_member_is_signed_out_and_a_role_change_applies_on_the_next_request,
    organisation_settings_change_the_quota_and_default_rate_limit_at_once,
    an_invitation_cannot_be_used_to_guess_an_existing_accounts_password,
    an_admin_cannot_demote_an_owner_by_racing_the_owners_promotion,
    two_admins_changing_different_settings_at_once_both_keep_theirs,
    a_key_never_grants_more_than_its_holders_role_may_do,
);

const ROLES: [&str; 4] = ["viewer", "developer", "admin", "owner"];

/// An organisation with one member of each role.
pub struct Team {
    /// Session token by role, in [`ROLES`] order.
    pub tokens: Vec<String>,
    /// User id by role, in [`ROLES`] order.
    pub users: Vec<String>,
    pub organization_id: String,
}

impl Team {
    pub fn token(&self, role: &str) -> &str {
        &self.tokens[ROLES.iter().position(|r| *r == role).unwrap()]
    }

    pub fn user(&self, role: &str) -> &str {
        &self.users[ROLES.iter().position(|r| *r == role).unwrap()]
    }
}

/// Invites `email` as `role` with the session `token`; returns the 201 body.
pub async fn invite(s: &TestServer, token: &str, email: &str, role: &str) -> Value {
    let response = s
        .session(Method::POST, "/api/developer/invitations", token)
        .json(&json!({"email": email, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "inviting {email} as {role}");
    response.json().await.unwrap()
}

/// Signs `email` up with an invitation token; returns the response.
pub async fn signup_invited(s: &TestServer, email: &str, invitation: &str) -> reqwest::Response {
    s.post_json(
        "/api/developer/signup",
        &json!({"email": email, "password": PASSWORD, "invitation_token": invitation}),
    )
    .await
}

/// An owner (`{prefix}-owner@example.com`) and an invited admin, developer and viewer.
pub async fn team(s: &TestServer, prefix: &str) -> Team {
    let owner = s.signup(&format!("{prefix}-owner@example.com")).await;
    let owner_token = owner["token"].as_str().unwrap().to_owned();
    let mut tokens = Vec::new();
    let mut users = Vec::new();
    for role in ["viewer", "developer", "admin"] {
        let email = format!("{prefix}-{role}@example.com");
        let invitation = invite(s, &owner_token, &email, role).await;
        let response = signup_invited(s, &email, invitation["token"].as_str().unwrap()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["organization"]["id"], owner["organization"]["id"]);
        tokens.push(body["token"].as_str().unwrap().to_owned());
        users.push(body["user"]["id"].as_str().unwrap().to_owned());
    }
    tokens.push(owner_token);
    users.push(owner["user"]["id"].as_str().unwrap().to_owned());
    Team { tokens, users, organization_id: owner["organization"]["id"].as_str().unwrap().to_owned() }
}

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap_or_else(|| panic!("unknown role {role}"))
}

async fn every_dashboard_operation_answers_each_role_as_its_annotation_says(s: &TestServer) {
    let team = team(s, "table").await;
    let doc = portico::openapi::document();
    let mut checked = 0;
    let mut operations = 0;
    for (method, path, op) in portico::openapi::operations(&doc) {
        if !portico::openapi::takes_session(op) {
            continue;
        }
        operations += 1;
        let needed = op["x-required-role"].as_str().expect("every session operation declares a role");
        let id = op["operationId"].as_str().unwrap();
        // Ids that name nothing: an allowed role gets past the guard and is answered 404 or
        // 422 by the handler, never 403 `insufficient_role`.
        let url = path
            .replace("{id}", "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")
            .replace("{delivery_id}", "dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")
            .replace("{user_id}", "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N");
        for role in ROLES {
            // Signing out would end the session the rest of the table uses.
            if id == "session_delete" && rank(role) >= rank(needed) {
                continue;
            }
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let mut request = s.session(method.clone(), &url, team.token(role));
            if op.get("requestBody").is_some() {
                request = request.json(&json!({"__unknown": true}));
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            if rank(role) >= rank(needed) {
                let body = response.text().await.unwrap();
                assert!(
                    status != StatusCode::FORBIDDEN
                        && status != StatusCode::UNAUTHORIZED
                        && status.as_u16() < 500,
                    "{id} as {role} (needs {needed}): {status} {body}"
                );
            } else {
                let problem = assert_problem(response, 403, "insufficient_role").await;
                let detail = problem["detail"].as_str().unwrap();
                assert!(detail.contains(needed), "{id} as {role}: {detail}");
            }
            checked += 1;
        }
    }
    // Every dashboard operation, four roles each (less sign-out, which would end the session).
    assert!(operations >= 36, "{operations} dashboard operations");
    assert_eq!(checked, operations * 4 - 4);

    // Without a session at all: 401 before any role is considered.
    let anonymous = s.request(Method::GET, "/api/developer/audit-log").send().await.unwrap();
    assert_problem(anonymous, 401, "missing_credentials").await;
}

async fn an_invitation_works_once_for_its_email_until_it_expires_or_is_revoked(s: &TestServer) {
    let owner = s.signup("inv-owner@example.com").await;
    let token = owner["token"].as_str().unwrap();

    // Created: the token is shown once, the link carries it in the fragment.
    let created = invite(s, token, "Grace@Example.com", "developer").await;
    let invitation_token = created["token"].as_str().unwrap().to_owned();
    assert!(invitation_token.starts_with("pti_"));
    assert!(created["url"].as_str().unwrap().ends_with(&format!("/#/join?token={invitation_token}")));
    assert_eq!(created["invitation"]["email"], "grace@example.com");
    assert_eq!(created["invitation"]["role"], "developer");
    let listed: Value = s.get_with_token("/api/developer/invitations", token).await.json().await.unwrap();
    assert_eq!(listed["total"], 1);
    assert!(listed["data"][0].get("token").is_none(), "tokens are never listed");

    // A second invitation for the same email while one is pending, or for a member: 409.
    let again = s
        .session(Method::POST, "/api/developer/invitations", token)
        .json(&json!({"email": "grace@example.com", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_problem(again, 409, "conflict").await;
    let member = s
        .session(Method::POST, "/api/developer/invitations", token)
        .json(&json!({"email": "inv-owner@example.com", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_problem(member, 409, "conflict").await;
    let bad = s
        .session(Method::POST, "/api/developer/invitations", token)
        .json(&json!({"email": "not an email", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_problem(bad, 422, "validation_failed").await;

    // The wrong email: 409; nothing used up.
    let wrong = signup_invited(s, "someone-else@example.com", &invitation_token).await;
    assert_problem(wrong, 409, "conflict").await;
    // The right one joins with the invited role.
    let joined = signup_invited(s, "grace@example.com", &invitation_token).await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let joined: Value = joined.json().await.unwrap();
    assert_eq!(joined["organization"]["id"], owner["organization"]["id"]);
    let me: Value =
        s.get_with_token("/api/developer/me", joined["token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["role"], "developer");
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
    // Reused: 404, whoever tries.
    let reused = signup_invited(s, "grace2@example.com", &invitation_token).await;
    assert_problem(reused, 404, "not_found").await;
    let listed: Value = s.get_with_token("/api/developer/invitations", token).await.json().await.unwrap();
    assert_eq!(listed["total"], 0, "an accepted invitation is no longer pending");

    // Revoked: 404; revoking again: 404.
    let revoked = invite(s, token, "revoked@example.com", "viewer").await;
    let path = format!("/api/developer/invitations/{}", revoked["invitation"]["id"].as_str().unwrap());
    assert_eq!(
        s.session(Method::DELETE, &path, token).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(s.session(Method::DELETE, &path, token).send().await.unwrap(), 404, "not_found").await;
    let response = signup_invited(s, "revoked@example.com", revoked["token"].as_str().unwrap()).await;
    assert_problem(response, 404, "not_found").await;

    // Expired after 7 days.
    let expiring = invite(s, token, "late@example.com", "viewer").await;
    s.advance_clock(Duration::from_secs(7 * 24 * 3600 + 1));
    let response = signup_invited(s, "late@example.com", expiring["token"].as_str().unwrap()).await;
    assert_problem(response, 404, "not_found").await;
    // Sign-up without an organisation name or an invitation: 422 on the field.
    let response = s
        .post_json("/api/developer/signup", &json!({"email": "noorg@example.com", "password": PASSWORD}))
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "organization_name");
    // A malformed token is 404 like an unknown one.
    let response = signup_invited(s, "late@example.com", "nonsense").await;
    assert_problem(response, 404, "not_found").await;
}

async fn a_signed_in_user_accepts_an_invitation_and_switches_between_organisations(s: &TestServer) {
    let host = s.signup("host@example.com").await;
    let host_token = host["token"].as_str().unwrap();
    let guest = s.signup("guest@example.com").await;
    let guest_token = guest["token"].as_str().unwrap();
    let invitation = invite(s, host_token, "guest@example.com", "viewer").await;
    let other = invite(s, host_token, "nobody@example.com", "viewer").await;

    // Someone else's invitation: 409; garbage: 404.
    let response = s
        .session(Method::POST, "/api/developer/invitations/accept", guest_token)
        .json(&json!({"token": other["token"]}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "conflict").await;
    let response = s
        .session(Method::POST, "/api/developer/invitations/accept", guest_token)
        .json(&json!({"token": "pti_nothing"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;

    // Accepting moves the session to the host's organisation, as a viewer.
    let response = s
        .session(Method::POST, "/api/developer/invitations/accept", guest_token)
        .json(&json!({"token": invitation["token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["organization"]["id"], host["organization"]["id"]);
    assert_eq!(me["role"], "viewer");
    let orgs: Vec<&str> = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["organization"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        orgs,
        [guest["organization"]["id"].as_str().unwrap(), host["organization"]["id"].as_str().unwrap()]
    );
    assert_eq!(me["memberships"][0]["role"], "owner");
    // As a viewer here, the guest cannot create a key…
    let response = s
        .session(Method::POST, "/api/developer/apikeys", guest_token)
        .json(&json!({"name": "nope", "scopes": ["links:read"]}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "insufficient_role").await;
    // …and switching back to their own organisation, without signing in again, they can.
    let response = s
        .session(Method::PUT, "/api/developer/me/organization", guest_token)
        .json(&json!({"organization_id": guest["organization"]["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["role"], "owner");
    s.create_key(guest_token, json!({"name": "mine", "scopes": ["links:read"]})).await;
    // An organisation they are not in: 404.
    let stranger = s.signup("stranger@example.com").await;
    let response = s
        .session(Method::PUT, "/api/developer/me/organization", guest_token)
        .json(&json!({"organization_id": stranger["organization"]["id"]}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
    // Accepting twice: the invitation is used up.
    let response = s
        .session(Method::POST, "/api/developer/invitations/accept", guest_token)
        .json(&json!({"token": invitation["token"]}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
}

async fn the_last_owner_can_be_neither_demoted_nor_removed_and_only_owners_manage_owners(s: &TestServer) {
    let team = team(s, "owners").await;
    let owner = team.token("owner");
    let admin = team.token("admin");
    let member = |user: &str| format!("/api/developer/members/{user}");

    // The only owner: 409 both ways.
    let response = s
        .session(Method::PATCH, &member(team.user("owner")), owner)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "conflict").await;
    let response = s.session(Method::DELETE, &member(team.user("owner")), owner).send().await.unwrap();
    assert_problem(response, 409, "conflict").await;

    // An admin may not make an owner, nor touch one.
    let response = s
        .session(Method::PATCH, &member(team.user("developer")), admin)
        .json(&json!({"role": "owner"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 403, "insufficient_role").await;
    assert!(problem["detail"].as_str().unwrap().contains("owner"));
    let response = s.session(Method::DELETE, &member(team.user("owner")), admin).send().await.unwrap();
    assert_problem(response, 403, "insufficient_role").await;
    let response = s
        .session(Method::POST, "/api/developer/invitations", admin)
        .json(&json!({"email": "new-owner@example.com", "role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "insufficient_role").await;
    // But may promote a viewer.
    let response = s
        .session(Method::PATCH, &member(team.user("viewer")), admin)
        .json(&json!({"role": "developer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let promoted: Value = response.json().await.unwrap();
    assert_eq!(promoted["role"], "developer");
    assert_eq!(promoted["email"], "owners-viewer@example.com");

    // With a second owner, the first may step down.
    let response = s
        .session(Method::PATCH, &member(team.user("admin")), owner)
        .json(&json!({"role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = s
        .session(Method::PATCH, &member(team.user("owner")), owner)
        .json(&json!({"role": "developer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Now the admin-turned-owner is the last: 409 again.
    let response = s
        .session(Method::PATCH, &member(team.user("admin")), admin)
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "conflict").await;
    let listed: Value = s.get_with_token("/api/developer/members", admin).await.json().await.unwrap();
    let owners = listed["data"].as_array().unwrap().iter().filter(|m| m["role"] == "owner").count();
    assert_eq!((listed["total"].as_u64(), owners), (Some(4), 1));
    // Not a member, or not a user id: 404. A bad role: 422.
    let response = s
        .session(Method::PATCH, &member("usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"), admin)
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
    let response = s
        .session(Method::PATCH, &member(team.user("viewer")), admin)
        .json(&json!({"role": "superuser"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "validation_failed").await;
}

async fn a_removed_member_is_signed_out_and_a_role_change_applies_on_the_next_request(s: &TestServer) {
    let team = team(s, "removal").await;
    let viewer = team.token("viewer");
    let key = json!({"name": "by a viewer", "scopes": ["links:read"]});
    let response = s.session(Method::POST, "/api/developer/apikeys", viewer).json(&key).send().await.unwrap();
    assert_problem(response, 403, "insufficient_role").await;
    let response = s
        .session(
            Method::PATCH,
            &format!("/api/developer/members/{}", team.user("viewer")),
            team.token("admin"),
        )
        .json(&json!({"role": "developer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The same session, the next request: a developer now.
    let created = s.create_key(viewer, key.clone()).await;
    assert_eq!(created["created_by"], team.user("viewer"));

    let path = format!("/api/developer/members/{}", team.user("viewer"));
    let response = s.session(Method::DELETE, &path, team.token("admin")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(s.get_with_token("/api/developer/me", viewer).await, 401, "invalid_session").await;
    assert_problem(
        s.session(Method::DELETE, &path, team.token("admin")).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    // The key they made is the organisation's and stays.
    let listed: Value =
        s.get_with_token("/api/developer/apikeys", team.token("owner")).await.json().await.unwrap();
    assert_eq!(listed["data"][0]["id"], created["id"]);

    // They belong nowhere now: signing in without an invitation says so. Invited again,
    // they sign in with the invitation (sign-up refuses an email that has an account).
    let login = json!({"email": "removal-viewer@example.com", "password": PASSWORD});
    assert_problem(s.post_json("/api/developer/login", &login).await, 409, "conflict").await;
    let wrong = json!({"email": "removal-viewer@example.com", "password": "not the password"});
    assert_problem(s.post_json("/api/developer/login", &wrong).await, 401, "invalid_credentials").await;
    let again = invite(s, team.token("admin"), "removal-viewer@example.com", "viewer").await;
    let token = again["token"].as_str().unwrap();
    assert_problem(signup_invited(s, "removal-viewer@example.com", token).await, 409, "conflict").await;
    let wrong = json!({"email": "removal-viewer@example.com", "password": "not the password", "invitation_token": token});
    assert_problem(s.post_json("/api/developer/login", &wrong).await, 401, "invalid_credentials").await;
    let back = s
        .post_json(
            "/api/developer/login",
            &json!({"email": "removal-viewer@example.com", "password": PASSWORD, "invitation_token": token}),
        )
        .await;
    assert_eq!(back.status(), StatusCode::OK);
    let back: Value = back.json().await.unwrap();
    assert_eq!(
        (back["user"]["id"].as_str(), back["organization"]["id"].as_str()),
        (Some(team.user("viewer")), Some(team.organization_id.as_str()))
    );
    let me: Value =
        s.get_with_token("/api/developer/me", back["token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["role"], "viewer");
    assert_eq!(s.post_json("/api/developer/login", &login).await.status(), StatusCode::OK);
}

async fn organisation_settings_change_the_quota_and_default_rate_limit_at_once(s: &TestServer) {
    let team = team(s, "settings").await;
    let owner = team.token("owner");
    let settings: Value =
        s.get_with_token("/api/developer/organization", team.token("viewer")).await.json().await.unwrap();
    assert_eq!(settings["monthly_quota"], Value::Null);
    assert_eq!(settings["default_rate_limit_rpm"], Value::Null);
    assert!(settings["defaults"]["monthly_quota"].as_u64().unwrap() > 0);

    let key = s.create_key(owner, json!({"name": "limited", "scopes": ["links:read"]})).await;
    let key = key["key"].as_str().unwrap();
    assert_eq!(s.v1(Method::GET, "/v1/links", key).send().await.unwrap().status(), StatusCode::OK);

    // A default rate limit of 1 a minute for keys without their own: the next call is the
    // second this minute.
    let response = s
        .session(Method::PATCH, "/api/developer/organization", team.token("admin"))
        .json(&json!({"default_rate_limit_rpm": 1, "name": "  Settings Inc  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(
        (changed["default_rate_limit_rpm"].as_i64(), changed["name"].as_str()),
        (Some(1), Some("Settings Inc"))
    );
    let _first = s.v1(Method::GET, "/v1/links", key).send().await.unwrap();
    let limited = s.v1(Method::GET, "/v1/links", key).send().await.unwrap();
    assert_problem(limited, 429, "rate_limited").await;

    // Back to the default; a quota of what was already used: the next call is refused.
    s.flush().await;
    let response = s
        .session(Method::PATCH, "/api/developer/organization", owner)
        .json(&json!({"default_rate_limit_rpm": null, "monthly_quota": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // (A key with its own limit, which the 1-a-minute default never applied to.)
    let other = s
        .create_key(owner, json!({"name": "own limit", "scopes": ["links:read"], "rate_limit_rpm": 1000}))
        .await;
    let response = s.v1(Method::GET, "/v1/links", other["key"].as_str().unwrap()).send().await.unwrap();
    assert_problem(response, 429, "quota_exceeded").await;

    // Bad values: 422 naming each; a developer: 403.
    let response = s
        .session(Method::PATCH, "/api/developer/organization", owner)
        .json(&json!({"name": "", "monthly_quota": -1, "default_rate_limit_rpm": 0}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "monthly_quota", "default_rate_limit_rpm"]);
    let response = s
        .session(Method::PATCH, "/api/developer/organization", team.token("developer"))
        .json(&json!({"monthly_quota": 5}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "insufficient_role").await;
}

/// Someone invites a victim's email to their own organisation and "signs up" as the victim
/// with guessed passwords. Sign-up never checks a password (409 for an email that has an
/// account, right password or wrong), and signing in with the invitation spends sign-in's
/// buckets and is audited in the victim's organisation.
async fn an_invitation_cannot_be_used_to_guess_an_existing_accounts_password(s: &TestServer) {
    let victim = s.signup("oracle-victim@example.com").await;
    let victim_token = victim["token"].as_str().unwrap();
    let attacker = s.signup("oracle-attacker@example.com").await;
    let invitation =
        invite(s, attacker["token"].as_str().unwrap(), "oracle-victim@example.com", "viewer").await;
    let token = invitation["token"].as_str().unwrap();
    for password in [PASSWORD, "a wrong guess"] {
        let body =
            json!({"email": "oracle-victim@example.com", "password": password, "invitation_token": token});
        let refused =
            assert_problem(s.post_json("/api/developer/signup", &body).await, 409, "conflict").await;
        assert!(refused["detail"].as_str().unwrap().contains("sign in"), "{refused}");
    }
    // Guessing through sign-in: 10 tries from one network, then 429.
    for guess in 0..10 {
        let body = json!({"email": "oracle-victim@example.com", "password": format!("guess number {guess}"), "invitation_token": token});
        assert_problem(s.post_json("/api/developer/login", &body).await, 401, "invalid_credentials").await;
    }
    let body = json!({"email": "oracle-victim@example.com", "password": PASSWORD, "invitation_token": token});
    assert_problem(s.post_json("/api/developer/login", &body).await, 429, "rate_limited").await;
    let log: Value = s
        .get_with_token("/api/developer/audit-log?action=sign_in.failed&limit=100", victim_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["total"], 10, "every guess is in the victim's audit log");
    // The invitation is unused, and the victim is a member of their own organisation only.
    let pending: Value = s
        .get_with_token("/api/developer/invitations", attacker["token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["total"], 1);
    let me: Value = s.get_with_token("/api/developer/me", victim_token).await.json().await.unwrap();
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
}

/// An owner promotes a developer to owner while an admin demotes the same developer, 20
/// times at once. The admin's change is judged on the roles as they are when it commits:
/// once the promotion is in, demoting an owner needs an owner (403), so the promoted member
/// always ends as owner.
async fn an_admin_cannot_demote_an_owner_by_racing_the_owners_promotion(s: &TestServer) {
    let team = team(s, "race").await;
    let path = format!("/api/developer/members/{}", team.user("developer"));
    for round in 0..20 {
        let reset = s
            .session(Method::PATCH, &path, team.token("owner"))
            .json(&json!({"role": "developer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(reset.status(), StatusCode::OK);
        let promote =
            s.session(Method::PATCH, &path, team.token("owner")).json(&json!({"role": "owner"})).send();
        let demote =
            s.session(Method::PATCH, &path, team.token("admin")).json(&json!({"role": "viewer"})).send();
        let (promoted, demoted) = tokio::join!(promote, demote);
        assert_eq!(promoted.unwrap().status(), StatusCode::OK);
        let demoted = demoted.unwrap();
        assert!(
            [StatusCode::OK, StatusCode::FORBIDDEN].contains(&demoted.status()),
            "round {round}: {}",
            demoted.status()
        );
        let members: Value = s
            .get_with_token("/api/developer/members?limit=100", team.token("owner"))
            .await
            .json()
            .await
            .unwrap();
        let role = members["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == team.user("developer"))
            .map(|m| m["role"].clone())
            .unwrap();
        assert_eq!(role, "owner", "round {round}: the promoted member must end as owner");
    }
}

/// Two admins change different settings at once, 20 times: both changes stay every time.
/// `If-Match` guards the settings; a change of nothing writes no audit entry.
async fn two_admins_changing_different_settings_at_once_both_keep_theirs(s: &TestServer) {
    let team = team(s, "settings-race").await;
    for round in 0..20_i64 {
        let quota = s
            .session(Method::PATCH, "/api/developer/organization", team.token("admin"))
            .json(&json!({"monthly_quota": 1000 + round}))
            .send();
        let rate = s
            .session(Method::PATCH, "/api/developer/organization", team.token("owner"))
            .json(&json!({"default_rate_limit_rpm": 100 + round}))
            .send();
        let (a, b) = tokio::join!(quota, rate);
        assert_eq!(a.unwrap().status(), StatusCode::OK);
        assert_eq!(b.unwrap().status(), StatusCode::OK);
        let now: Value =
            s.get_with_token("/api/developer/organization", team.token("viewer")).await.json().await.unwrap();
        assert_eq!(
            (now["monthly_quota"].as_i64(), now["default_rate_limit_rpm"].as_i64()),
            (Some(1000 + round), Some(100 + round)),
            "round {round}"
        );
    }
    let owner = team.token("owner").to_owned();
    let audit = || async {
        let log: Value = s
            .get_with_token("/api/developer/audit-log?action=organization.updated&limit=100", &owner)
            .await
            .json()
            .await
            .unwrap();
        log["total"].as_u64().unwrap()
    };
    assert_eq!(audit().await, 40, "one entry per change");

    let current = s.get_with_token("/api/developer/organization", team.token("viewer")).await;
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let version = current.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
    assert_eq!(etag, format!("\"{version}\""));
    let stale = s
        .session(Method::PATCH, "/api/developer/organization", team.token("admin"))
        .header("if-match", format!("\"{}\"", version - 1))
        .json(&json!({"name": "Stale Inc"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "version_mismatch").await;
    // The same values again: nothing changes, no new version, no entry.
    let same = s
        .session(Method::PATCH, "/api/developer/organization", team.token("admin"))
        .header("if-match", &etag)
        .json(&json!({"monthly_quota": 1019}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    assert_eq!(same.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(audit().await, 40, "a change of nothing is not audited");
    let renamed = s
        .session(Method::PATCH, "/api/developer/organization", team.token("admin"))
        .header("if-match", &etag)
        .json(&json!({"name": "Fresh Inc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(renamed.headers()["etag"].to_str().unwrap(), format!("\"{}\"", version + 1));
    let body: Value = renamed.json().await.unwrap();
    assert_eq!((body["name"].as_str(), body["monthly_quota"].as_i64()), (Some("Fresh Inc"), Some(1019)));
}

/// A developer may not read the admin-only audit log through a key: minting or rotating a
/// key with `audit:read` or `full_access` needs an admin, and the playground runs only keys
/// the session's role may hold.
async fn a_key_never_grants_more_than_its_holders_role_may_do(s: &TestServer) {
    let team = team(s, "ceiling").await;
    let developer = team.token("developer");
    for scopes in [json!(["audit:read"]), json!(["full_access"]), json!(["links:read", "audit:read"])] {
        let response = s
            .session(Method::POST, "/api/developer/apikeys", developer)
            .json(&json!({"name": "too strong", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 403, "insufficient_role").await;
        assert!(problem["detail"].as_str().unwrap().contains("an admin"), "{problem}");
    }
    let own = s.create_key(developer, json!({"name": "mine", "scopes": ["links:read"]})).await;
    let strong = s.create_key(team.token("admin"), json!({"name": "ops", "scopes": ["full_access"]})).await;
    let strong_id = strong["id"].as_str().unwrap();

    let rotate = s
        .session(Method::POST, &format!("/api/developer/apikeys/{strong_id}/rotate"), developer)
        .json(&json!({"grace_period_seconds": 0}))
        .send()
        .await
        .unwrap();
    assert_problem(rotate, 403, "insufficient_role").await;

    let play = |token: &str, key_id: &str| {
        s.session(Method::POST, "/api/developer/playground/test", token)
            .json(&json!({"api_key_id": key_id, "method": "GET", "endpoint": "/v1/audit-log"}))
            .send()
    };
    assert_problem(play(developer, strong_id).await.unwrap(), 403, "insufficient_role").await;
    // Their own key runs, and the pipeline refuses it the audit log.
    let answer: Value = play(developer, own["id"].as_str().unwrap()).await.unwrap().json().await.unwrap();
    assert_eq!(answer["status_code"], 403);
    assert_eq!(answer["body"]["code"], "insufficient_scope");
    // An admin may.
    let answer: Value = play(team.token("admin"), strong_id).await.unwrap().json().await.unwrap();
    assert_eq!(answer["status_code"], 200, "{answer}");
    // And the key itself, used directly, still reads it (an admin minted it).
    let direct = s.v1(Method::GET, "/v1/audit-log", strong["key"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
}
