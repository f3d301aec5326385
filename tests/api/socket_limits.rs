//! What a websocket client may cost the server: every frame counts against the rate limit,
//! binary frames close the socket, and the replies a socket owes are bounded.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app, spawn_app_with};
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::realtime::{Socket, close_code, close_frame, connect, next, send, start_thread};

/// A client whose receive buffer is small, so that what the server sends it and it does not
/// read soon fills the buffers between them.
async fn connect_with_small_receive_buffer(app: &TestApp, token: &str) -> Socket {
    let address = app.address.trim_start_matches("http://").to_string();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(8 * 1024).unwrap();
    let stream = tcp.connect(address.parse().unwrap()).await.unwrap();
    let mut request = format!("ws://{address}/api/v1/realtime").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .expect("the upgrade succeeds")
        .0
}

#[tokio::test]
async fn a_binary_frame_closes_the_socket_as_unsupported_data() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let mut socket = connect(&app, &kari).await;
    for _ in 0..3 {
        if socket.send(Message::Binary(vec![0, 1].into())).await.is_err() {
            break;
        }
    }
    let closed = tokio::time::timeout(Duration::from_secs(5), close_frame(&mut socket)).await;
    assert_eq!(
        closed,
        Ok(Some((1003, "unsupported_data".to_string()))),
        "a binary frame ends the connection with 1003"
    );
    let mut other = connect(&app, &kari).await;
    send(&mut other, json!({ "type": "ping" })).await;
    assert_eq!(next(&mut other).await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn every_kind_of_frame_counts_against_the_rate_limit() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let floods: [(&str, Message); 3] = [
        ("two-byte text frames", Message::Text("{}".into())),
        ("websocket pings", Message::Ping(vec![1, 2].into())),
        ("websocket pongs", Message::Pong(vec![1, 2].into())),
    ];
    for (kind, frame) in floods {
        let mut socket = connect(&app, &kari).await;
        for _ in 0..500 {
            if socket.send(frame.clone()).await.is_err() {
                break;
            }
        }
        let closed = tokio::time::timeout(Duration::from_secs(5), close_code(&mut socket)).await;
        assert_eq!(
            closed,
            Ok(Some(1008)),
            "a flood of {kind} is closed as a policy violation"
        );
    }
}

#[tokio::test]
async fn a_client_that_sends_but_does_not_read_is_closed_and_its_replies_stay_bounded() {
    // The rate limit is not what stops this client.
    let app = spawn_app_with(|settings| {
        settings.posts_per_minute = 10_000;
        settings.socket_messages_per_second = 10_000;
    })
    .await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    // Big events, so that each subscription's replay is big.
    let thread_id = start_thread(&app, &kari, food).await;
    let body = "Matsvinn ".repeat(2_000);
    for n in 0..10 {
        let response = app
            .post_json(
                &format!("/api/v1/threads/{thread_id}/posts"),
                Some(&kari),
                &json!({ "body": body, "client_id": format!("big-{n}") }),
            )
            .await;
        assert_eq!(response.status.as_u16(), 201, "{}", response.body);
    }

    // The client asks for the replay again and again and never reads.
    let mut socket = connect_with_small_receive_buffer(&app, &kari).await;
    let subscribe = json!({ "type": "subscribe", "cohort_id": food, "after": 0, "padding": "x".repeat(4_000) });
    let subscribe = Message::Text(subscribe.to_string().into());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    let mut most_waiting = 0;
    let closed = loop {
        match tokio::time::timeout_at(deadline, socket.send(subscribe.clone())).await {
            Err(_) => break false,
            Ok(Err(_)) => break true,
            Ok(Ok(())) => {}
        }
        most_waiting = most_waiting.max(app.hub.requests_waiting());
        assert!(
            most_waiting <= samling::realtime::REPLY_CAPACITY,
            "the server holds {most_waiting} requests for a client that does not read"
        );
    };
    assert!(closed, "the server closed the socket of a client that does not read");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "closed after {:?}",
        started.elapsed()
    );
    assert!(most_waiting > 0, "requests were waiting");

    // What reached the client ends: the connection is gone.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the connection ended");
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while app.hub.requests_waiting() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(drained.is_ok(), "nothing is left waiting once the socket is gone");
}
