// Written by `cargo xtask gen`: the Rust sample of every operation (as in the spec's
// `x-codeSamples`, the markdown pages and llms-full.txt), each compiled as a function.

pub async fn dashboard_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.dashboard_get().send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn apikey_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.apikey_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn apikey_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::CreateApiKeyRequest = serde_json::from_value(serde_json::json!({"name":"Production backend","scopes":["links:read","links:write"],"domains":["links.example.com"],"allowed_ips":["203.0.113.0/24"],"expires_in_days":90,"rate_limit_rpm":600}))?;
    let response = client.apikey_create().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn apikey_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.apikey_get().id("key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn apikey_revoke() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.apikey_revoke().id("key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn apikey_update() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::UpdateApiKeyRequest = serde_json::from_value(serde_json::json!({"name":"Production backend (EU)","allowed_ips":["203.0.113.0/24"],"expires_at":null}))?;
    let response = client.apikey_update().id("key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn apikey_rotate() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::RotateApiKeyRequest = serde_json::from_value(serde_json::json!({"grace_period_seconds":3600}))?;
    let response = client.apikey_rotate().id("key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_audit_log_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_audit_log_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_domain_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_domain_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_domain_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::CreateDomainRequest = serde_json::from_value(serde_json::json!({"hostname":"go.example.com"}))?;
    let response = client.dashboard_domain_create().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_domain_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_domain_get().id("dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_domain_delete() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_domain_delete().id("dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn invitation_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.invitation_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn invitation_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::CreateInvitationRequest = serde_json::from_value(serde_json::json!({"email":"grace@example.com","role":"developer"}))?;
    let response = client.invitation_create().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn invitation_accept() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::AcceptInvitationRequest = serde_json::from_value(serde_json::json!({"token":"pti_4Jx1mQ8dTt0yZ2cV7bN5rL9wK3hF6gS1aE8uO2iP4qR"}))?;
    let response = client.invitation_accept().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn invitation_revoke() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.invitation_revoke().id("inv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn session_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let body: types::LoginRequest = serde_json::from_value(serde_json::json!({"email":"ada@example.com","password":"correct horse battery staple"}))?;
    let response = client.session_create().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn session_delete() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.session_delete().send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn account_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.account_get().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn account_switch_organization() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::SwitchOrganizationRequest = serde_json::from_value(serde_json::json!({"organization_id":"org_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"}))?;
    let response = client.account_switch_organization().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn member_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.member_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn member_remove() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.member_remove().user_id("usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn member_update() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::UpdateMemberRequest = serde_json::from_value(serde_json::json!({"role":"developer"}))?;
    let response = client.member_update().user_id("usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn organization_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.organization_get().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn organization_update() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::UpdateOrganizationRequest = serde_json::from_value(serde_json::json!({"name":"Acme Links (EU)","monthly_quota":2000000,"default_rate_limit_rpm":null}))?;
    let response = client.organization_update().if_match("\"1\"").body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn playground_test() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::PlaygroundRequest = serde_json::from_value(serde_json::json!({"api_key_id":"key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N","method":"POST","endpoint":"/v1/links","headers":{"accept-language":"en"},"query":{},"body":{"url":"https://example.com/launch","tags":["playground"]}}))?;
    let response = client.playground_test().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_request_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_request_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_request_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_request_get().id("req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn account_signup() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let body: types::SignupRequest = serde_json::from_value(serde_json::json!({"email":"ada@example.com","password":"correct horse battery staple","organization_name":"Acme Links"}))?;
    let response = client.account_signup().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_usage_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_usage_get().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_webhook_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_webhook_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_webhook_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::CreateWebhookRequest = serde_json::from_value(serde_json::json!({"url":"https://example.com/webhooks/portico","events":["job.succeeded","link.created"],"description":"Production"}))?;
    let response = client.dashboard_webhook_create().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_webhook_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_webhook_get().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_webhook_delete() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_webhook_delete().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn dashboard_webhook_update() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let body: types::UpdateWebhookRequest = serde_json::from_value(serde_json::json!({"events":["job.succeeded","job.failed"],"enabled":true}))?;
    let response = client.dashboard_webhook_update().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_webhook_deliveries() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_webhook_deliveries().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_webhook_delivery_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_webhook_delivery_get().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").delivery_id("dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_webhook_delivery_resend() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_webhook_delivery_resend().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").delivery_id("dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn dashboard_webhook_test() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_session_token(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_SESSION")?)?;
    let response = client.dashboard_webhook_test().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn openapi_get_v1() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.openapi_get_v1().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn postman_get_v1() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.postman_get_v1().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn guide_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.guide_get().page("webhooks.md").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn operation_page_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.operation_page_get().page("link_create.md").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn health_check() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.health_check().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn llm_txt_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.llm_txt_get().send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn llms_full_txt_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.llms_full_txt_get().send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn llms_txt_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.llms_txt_get().send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn metrics_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.metrics_get().send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn openapi_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.openapi_get().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn openapi_samples_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.openapi_samples_get().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn postman_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.postman_get().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn link_redirect() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let redirect = client.link_redirect("launch", None).await?;
    println!("{redirect:#?}");
    Ok(())
}

pub async fn readiness_check() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::anonymous(&std::env::var("PORTICO_URL")?)?;
    let response = client.readiness_check().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn v1_apikey_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.v1_apikey_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn v1_apikey_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.v1_apikey_create().send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn v1_apikey_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.v1_apikey_get().id("key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn v1_apikey_revoke() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.v1_apikey_revoke().id("key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn audit_log_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.audit_log_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn domain_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.domain_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn domain_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let body: types::CreateDomainRequest = serde_json::from_value(serde_json::json!({"hostname":"go.example.com"}))?;
    let response = client.domain_create().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn domain_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.domain_get().id("dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn domain_delete() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.domain_delete().id("dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn job_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.job_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn job_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.job_get().id("job_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn key_introspect() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.key_introspect().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn link_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.link_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn link_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let body: types::CreateLinkRequest = serde_json::from_value(serde_json::json!({"url":"https://example.com/spring-sale?utm_source=newsletter","domain":"go.example.com","slug":"spring","title":"Spring sale","tags":["newsletter","2026"]}))?;
    let response = client.link_create().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn link_import() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let csv = "url,slug\nhttps://example.com/a,a\n";
    let response = client.link_import("links.csv", csv, None).await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn link_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.link_get().id("lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn link_delete() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.link_delete().id("lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn link_update() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let body: types::UpdateLinkRequest = serde_json::from_value(serde_json::json!({"url":"https://example.com/summer-sale","slug":"summer","tags":["newsletter"]}))?;
    let response = client.link_update().id("lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn link_stats() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.link_stats().id("lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn request_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.request_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn request_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.request_get().id("req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn usage_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.usage_get().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn webhook_list() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.webhook_list().send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn webhook_create() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let body: types::CreateWebhookRequest = serde_json::from_value(serde_json::json!({"url":"https://example.com/webhooks/portico","events":["job.succeeded","link.created"],"description":"Production"}))?;
    let response = client.webhook_create().body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn webhook_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.webhook_get().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn webhook_delete() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.webhook_delete().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").send().await?;
    println!("{}", response.status());
    Ok(())
}

pub async fn webhook_update() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::{Client, types};

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let body: types::UpdateWebhookRequest = serde_json::from_value(serde_json::json!({"events":["job.succeeded","job.failed"],"enabled":true}))?;
    let response = client.webhook_update().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").if_match("\"1\"").body(body).send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn webhook_deliveries() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.webhook_deliveries().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn webhook_delivery_get() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.webhook_delivery_get().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").delivery_id("dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn webhook_delivery_resend() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.webhook_delivery_resend().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").delivery_id("dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub async fn webhook_test() -> Result<(), Box<dyn std::error::Error>> {
    use portico_sdk::Client;

    let client = Client::with_api_key(&std::env::var("PORTICO_URL")?, &std::env::var("PORTICO_API_KEY")?)?;
    let response = client.webhook_test().id("whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N").send().await?;
    println!("{:#?}", response.into_inner());
    Ok(())
}

pub const SAMPLES: &[&str] = &[
    "dashboard_get",
    "apikey_list",
    "apikey_create",
    "apikey_get",
    "apikey_revoke",
    "apikey_update",
    "apikey_rotate",
    "dashboard_audit_log_list",
    "dashboard_domain_list",
    "dashboard_domain_create",
    "dashboard_domain_get",
    "dashboard_domain_delete",
    "invitation_list",
    "invitation_create",
    "invitation_accept",
    "invitation_revoke",
    "session_create",
    "session_delete",
    "account_get",
    "account_switch_organization",
    "member_list",
    "member_remove",
    "member_update",
    "organization_get",
    "organization_update",
    "playground_test",
    "dashboard_request_list",
    "dashboard_request_get",
    "account_signup",
    "dashboard_usage_get",
    "dashboard_webhook_list",
    "dashboard_webhook_create",
    "dashboard_webhook_get",
    "dashboard_webhook_delete",
    "dashboard_webhook_update",
    "dashboard_webhook_deliveries",
    "dashboard_webhook_delivery_get",
    "dashboard_webhook_delivery_resend",
    "dashboard_webhook_test",
    "openapi_get_v1",
    "postman_get_v1",
    "guide_get",
    "operation_page_get",
    "health_check",
    "llm_txt_get",
    "llms_full_txt_get",
    "llms_txt_get",
    "metrics_get",
    "openapi_get",
    "openapi_samples_get",
    "postman_get",
    "link_redirect",
    "readiness_check",
    "v1_apikey_list",
    "v1_apikey_create",
    "v1_apikey_get",
    "v1_apikey_revoke",
    "audit_log_list",
    "domain_list",
    "domain_create",
    "domain_get",
    "domain_delete",
    "job_list",
    "job_get",
    "key_introspect",
    "link_list",
    "link_create",
    "link_import",
    "link_get",
    "link_delete",
    "link_update",
    "link_stats",
    "request_list",
    "request_get",
    "usage_get",
    "webhook_list",
    "webhook_create",
    "webhook_get",
    "webhook_delete",
    "webhook_update",
    "webhook_deliveries",
    "webhook_delivery_get",
    "webhook_delivery_resend",
    "webhook_test",
];
