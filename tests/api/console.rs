//! The embedded pages: the staff console and the patient's call page.

use reqwest::Method;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_console_and_its_assets_are_served_with_a_strict_policy() {
    let app = TestApp::spawn().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/socket.js", "text/javascript"),
        ("/console/style.css", "text/css"),
    ] {
        let reply = app.request(Method::GET, path, None, None).await.expect(200);
        assert!(
            reply.headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = reply.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(reply.headers["x-frame-options"], "DENY");
        assert!(reply.headers.contains_key("etag"));
    }
    let missing = app.request(Method::GET, "/console/nothing.js", None, None).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn an_unchanged_asset_answers_304() {
    let app = TestApp::spawn().await;
    let first = app
        .request(Method::GET, "/console/app.js", None, None)
        .await
        .expect(200);
    let etag = first.headers["etag"].to_str().unwrap().to_string();
    let again = app
        .client
        .get(format!("{}/console/app.js", app.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn the_call_page_is_the_same_for_every_token_and_frameable_only_when_enabled() {
    let app = TestApp::spawn().await;
    let page = app
        .request(Method::GET, "/call/any-token-at-all", None, None)
        .await
        .expect(200);
    assert!(page.text.contains("/call-assets/call.js"));
    assert_eq!(page.headers["x-frame-options"], "DENY");

    let open = TestApp::spawn_with(|c| c.call_page_embedding = true).await;
    let page = open
        .request(Method::GET, "/call/any-token-at-all", None, None)
        .await
        .expect(200);
    assert!(!page.headers.contains_key("x-frame-options"));
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors *")
    );
    // The console itself never becomes frameable.
    let console = open.request(Method::GET, "/", None, None).await.expect(200);
    assert_eq!(console.headers["x-frame-options"], "DENY");
}
