//! The change stream: Server-Sent Events from any revision, resumable with Last-Event-ID.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    path_str, scratch, send, spawn_app, start_binary, store_calls, TestApp, OPERATOR,
};

/// Reads events from a stream until `count` have arrived; returns (revision, change).
async fn read_events(
    app: &TestApp,
    path: &str,
    last_event_id: Option<i64>,
    count: usize,
) -> Vec<(i64, Value)> {
    let mut request = app.op(Method::GET, path);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let mut response = request.send().await.expect("watch");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/event-stream"));
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("an event within 10 s")
            .expect("read")
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .and_then(|v| v.parse().ok());
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(id), Some(data)) = (id, data) {
                events.push((id, serde_json::from_str(data).expect("json")));
            }
        }
    }
    events
}

#[tokio::test]
async fn watch_streams_every_change_once_and_resumes() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    for i in 0..3 {
        app.create(&t, "users", json!({"id": format!("u{i}")}))
            .await;
    }
    let path = format!("/v1/tenants/{t}/watch?after=1");
    let first = read_events(&app, &path, None, 3).await;
    assert_eq!(first.iter().map(|(r, _)| *r).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(first[0].1["ops"][0]["key"], "u0");

    // Resuming after the second event gives the third, then new changes as they commit.
    let app2 = TestApp {
        base: app.base.clone(),
        client: app.client.clone(),
    };
    let tenant = t.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        app2.create(&tenant, "users", json!({"id": "late"})).await;
    });
    let resumed = read_events(&app, &format!("/v1/tenants/{t}/watch"), Some(3), 2).await;
    writer.await.expect("writer");
    assert_eq!(resumed.iter().map(|(r, _)| *r).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(resumed[1].1["ops"][0]["key"], "late");
}

/// Issue 15, finding 5: with 1,000 open streams, each change was read from the store once
/// per stream. Streams now read what the index applied: at most one read per change,
/// whatever the number of streams (none for a change this node committed, which its
/// writer hands to the index).
#[tokio::test]
async fn a_change_is_read_once_whatever_the_number_of_streams() {
    const STREAMS: usize = 40;
    const WRITES: usize = 10;
    let data = path_str(&scratch("fanout").join("data"));
    let (server, _) = start_binary(&["--data-dir", &data, "--admin-token", OPERATOR]).await;
    let client = reqwest::Client::new();
    let op = |method: Method, path: &str| {
        client
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(OPERATOR)
    };
    let (status, _) = send(op(Method::POST, "/v1/tenants").json(&json!({"id": "fan"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let response = op(Method::GET, "/v1/tenants/fan/watch")
            .send()
            .await
            .expect("watch");
        assert_eq!(response.status(), StatusCode::OK);
        streams.push(response);
    }
    let before = store_calls(&client, &server.base, "list_changes").await;
    for i in 0..WRITES {
        let (status, _) =
            send(op(Method::POST, "/v1/tenants/fan/users").json(&json!({"id": format!("u{i}")})))
                .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Every stream delivers every change.
    for stream in &mut streams {
        let mut text = String::new();
        while text.matches("event: change").count() < WRITES {
            let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
                .await
                .expect("an event within 10 s")
                .expect("read")
                .expect("stream open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    let reads = store_calls(&client, &server.base, "list_changes").await - before;
    eprintln!("{STREAMS} streams, {WRITES} changes: {reads} reads of the change feed");
    assert!(
        reads <= 3 * WRITES as u64,
        "{reads} reads of the change feed for {WRITES} changes and {STREAMS} streams"
    );
}
