use std::time::Duration;

use futures::{SinkExt, StreamExt};
use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A real websocket client, signed in with a bearer token.
async fn connect(app: &TestApp, token: &str) -> Socket {
    let url = format!("{}/api/v1/realtime", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade succeeds")
        .0
}

async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::Text(message.to_string().into())).await.unwrap();
}

/// The next JSON message that is not presence or typing (those are ephemeral), within 5 s.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = next_any(socket).await;
        if !matches!(message["type"].as_str(), Some("presence" | "typing")) {
            return message;
        }
    }
}

/// The next JSON message of any type, within 5 s.
async fn next_any(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// No stored event arrives within a short while (heartbeats and presence do not count).
async fn quiet(socket: &mut Socket) {
    let waited = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Text(text))) if text.contains(r#""type":"presence""#) => continue,
                other => return other,
            }
        }
    })
    .await;
    assert!(waited.is_err(), "expected nothing, got {waited:?}");
}

async fn post(app: &TestApp, token: &str, thread_id: i64, client_id: &str) -> i64 {
    let response = app
        .post_json(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(token),
            &json!({ "body": client_id, "client_id": client_id }),
        )
        .await;
    assert_eq!(response.status.as_u16(), 201, "{}", response.body);
    response.json()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn two_members_see_each_others_posts_live_and_a_reconnect_gets_what_it_missed_once_in_order() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let thread = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&kari),
            &json!({ "title": "Live", "body": "Start", "client_id": "k0" }),
        )
        .await;
    let thread_id = thread.json()["thread"]["id"].as_i64().unwrap();

    let mut kari_socket = connect(&app, &kari).await;
    let mut ola_socket = connect(&app, &ola).await;
    for socket in [&mut kari_socket, &mut ola_socket] {
        send(socket, json!({ "type": "subscribe", "cohort_id": food, "after": 1 })).await;
        assert_eq!(next(socket).await["type"], "subscribed");
    }
    let first = post(&app, &ola, thread_id, "o1").await;
    for socket in [&mut kari_socket, &mut ola_socket] {
        let event = next(socket).await;
        assert_eq!(
            (event["type"].as_str(), event["seq"].as_i64(), event["post_id"].as_i64()),
            (Some("event"), Some(2), Some(first))
        );
    }
    let second = post(&app, &kari, thread_id, "k1").await;
    assert_eq!(next(&mut ola_socket).await["post_id"], second);

    // Ola's laptop sleeps; three posts are made; on reconnect he sends the last number he saw.
    drop(ola_socket);
    let mut missed = Vec::new();
    for n in 0..3 {
        missed.push(post(&app, &kari, thread_id, &format!("k-missed-{n}")).await);
    }
    let mut ola_socket = connect(&app, &ola).await;
    send(
        &mut ola_socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 3 }),
    )
    .await;
    assert_eq!(next(&mut ola_socket).await["type"], "subscribed");
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let event = next(&mut ola_socket).await;
        replayed.push((event["seq"].as_i64().unwrap(), event["post_id"].as_i64().unwrap()));
    }
    assert_eq!(replayed, vec![(4, missed[0]), (5, missed[1]), (6, missed[2])]);
    quiet(&mut ola_socket).await;
    // Then live again, without a duplicate of what was replayed.
    let live = post(&app, &kari, thread_id, "k-live").await;
    let event = next(&mut ola_socket).await;
    assert_eq!(
        (event["seq"].as_i64(), event["post_id"].as_i64()),
        (Some(7), Some(live))
    );
    // Kari's socket, connected all along, got every event once, in order, her own included.
    let mut kari_seqs = Vec::new();
    for _ in 0..5 {
        kari_seqs.push(next(&mut kari_socket).await["seq"].as_i64().unwrap());
    }
    assert_eq!(kari_seqs, vec![3, 4, 5, 6, 7]);
    quiet(&mut kari_socket).await;
}

#[tokio::test]
async fn a_non_member_gets_nothing_and_strangers_cannot_connect() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let outsider = app
        .member_token(circular, "ute@example.no", "Ute", Role::ProjectLead)
        .await;
    let mut socket = connect(&app, &outsider).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 0 }),
    )
    .await;
    let refused = next(&mut socket).await;
    assert_eq!(
        (&refused["type"], &refused["code"]),
        (&json!("error"), &json!("not_found"))
    );
    assert_eq!(
        refused["message"], "Vi fant ikke det du lette etter.",
        "a sentence for people too"
    );
    app.post_json(
        &format!("/api/v1/cohorts/{food}/threads"),
        Some(&kari),
        &json!({ "title": "Hemmelig", "body": "Bare for oss", "client_id": "k0" }),
    )
    .await;
    quiet(&mut socket).await;
    send(&mut socket, json!({ "type": "shout" })).await;
    assert_eq!(next(&mut socket).await["code"], "invalid_message");

    // No token: no upgrade. A foreign Origin: no upgrade.
    let url = format!("{}/api/v1/realtime", app.address.replace("http://", "ws://"));
    assert!(tokio_tungstenite::connect_async(url.clone()).await.is_err());
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {kari}").parse().unwrap());
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
}

#[tokio::test]
async fn an_oversized_message_closes_that_socket_and_the_server_keeps_serving_others() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let mut flooder = connect(&app, &kari).await;
    let _ = flooder
        .send(Message::Text(
            "x".repeat(samling::realtime::MAX_MESSAGE_BYTES + 1).into(),
        ))
        .await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match flooder.next().await {
                None | Some(Err(_)) => return true,
                Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "the oversized message ends that connection");
    let mut other = connect(&app, &kari).await;
    send(&mut other, json!({ "type": "ping" })).await;
    assert_eq!(next(&mut other).await, json!({ "type": "pong" }));
}
