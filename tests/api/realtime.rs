use std::time::Duration;

use futures::{SinkExt, StreamExt};
use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::discussion::user_id;

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A real websocket client, signed in with a bearer token.
pub(crate) async fn connect(app: &TestApp, token: &str) -> Socket {
    connect_to(&app.address, token).await
}

/// A real websocket client of the server instance at `address`.
async fn connect_to(address: &str, token: &str) -> Socket {
    let url = format!("{}/api/v1/realtime", address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade succeeds")
        .0
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::Text(message.to_string().into())).await.unwrap();
}

/// The next JSON message that is not presence or typing (those are ephemeral), within 5 s.
pub(crate) async fn next(socket: &mut Socket) -> Value {
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
                Some(Ok(Message::Text(text))) if text.contains(r#""type":"presence"#) => continue,
                other => return other,
            }
        }
    })
    .await;
    assert!(waited.is_err(), "expected nothing, got {waited:?}");
}

/// Reads until the server closes the socket: its close code and reason, if it sent a Close.
pub(crate) async fn close_frame(socket: &mut Socket) -> Option<(u16, String)> {
    loop {
        match socket.next().await {
            None | Some(Err(_)) => return None,
            Some(Ok(Message::Close(frame))) => {
                return frame.map(|frame| (u16::from(frame.code), frame.reason.to_string()));
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// Reads until the server closes the socket; the close code it gave, if any.
pub(crate) async fn close_code(socket: &mut Socket) -> Option<u16> {
    loop {
        match socket.next().await {
            None | Some(Err(_)) => return None,
            Some(Ok(Message::Close(frame))) => return frame.map(|frame| u16::from(frame.code)),
            Some(Ok(_)) => continue,
        }
    }
}

pub(crate) async fn start_thread(app: &TestApp, token: &str, cohort_id: i64) -> i64 {
    let thread = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort_id}/threads"),
            Some(token),
            &json!({ "title": "Live", "body": "Start", "client_id": "start" }),
        )
        .await;
    assert_eq!(thread.status.as_u16(), 201, "{}", thread.body);
    thread.json()["thread"]["id"].as_i64().unwrap()
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
            "x".repeat(samling::routes::socket::MAX_MESSAGE_BYTES + 1).into(),
        ))
        .await;
    let closed = tokio::time::timeout(Duration::from_secs(5), close_code(&mut flooder)).await;
    assert_eq!(
        closed,
        Ok(Some(1009)),
        "the oversized message ends that connection with 1009"
    );
    let mut other = connect(&app, &kari).await;
    send(&mut other, json!({ "type": "ping" })).await;
    assert_eq!(next(&mut other).await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn posting_over_the_websocket_is_idempotent_and_errors_are_clear() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let thread_id = start_thread(&app, &kari, food).await;
    let mut ola_socket = connect(&app, &ola).await;
    send(
        &mut ola_socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 1 }),
    )
    .await;
    assert_eq!(next(&mut ola_socket).await["type"], "subscribed");

    let mut kari_socket = connect(&app, &kari).await;
    let message = json!({ "type": "post", "thread_id": thread_id, "body": "Over **socket**", "client_id": "ws-1" });
    send(&mut kari_socket, message.clone()).await;
    let posted = next(&mut kari_socket).await;
    assert_eq!((&posted["type"], &posted["created"]), (&json!("posted"), &json!(true)));
    // The retry after a lost answer finds the same post.
    send(&mut kari_socket, message).await;
    let again = next(&mut kari_socket).await;
    assert_eq!(
        (&again["post_id"], &again["created"]),
        (&posted["post_id"], &json!(false))
    );

    let event = next(&mut ola_socket).await;
    assert_eq!(
        (&event["kind"], &event["post"]["id"], &event["post"]["author"]),
        (&json!("post_created"), &posted["post_id"], &json!("Kari"))
    );
    assert!(
        event["post"]["body_html"]
            .as_str()
            .unwrap()
            .contains("<strong>socket</strong>")
    );
    quiet(&mut ola_socket).await;

    send(
        &mut kari_socket,
        json!({ "type": "post", "thread_id": thread_id, "body": "   ", "client_id": "ws-2" }),
    )
    .await;
    let refused = next(&mut kari_socket).await;
    assert_eq!(
        (&refused["type"], &refused["code"], &refused["client_id"]),
        (&json!("error"), &json!("empty_post"), &json!("ws-2"))
    );
    assert_eq!(refused["message"], "Skriv noe før du sender.");
    let stored = app
        .get(&format!("/api/v1/threads/{thread_id}"), Some(&kari))
        .await
        .json();
    assert_eq!(
        stored["posts"].as_array().unwrap().len(),
        2,
        "one post from two sends, none from the bad one"
    );
}

#[tokio::test]
async fn presence_and_typing_reach_the_others_and_are_never_stored() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let thread_id = start_thread(&app, &kari, food).await;
    let mut kari_socket = connect(&app, &kari).await;
    send(
        &mut kari_socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 1 }),
    )
    .await;

    // Kari subscribes first: her snapshot lists herself; when Ola joins, she gets a new
    // snapshot with both. (Ola connects only after Kari's snapshot, so the order is fixed.)
    let snapshot = loop {
        let message = next_any(&mut kari_socket).await;
        if message["type"] == "presence" {
            break message;
        }
    };
    assert_eq!(
        (&snapshot["people"][0]["name"], &snapshot["count"]),
        (&json!("Kari"), &json!(1))
    );
    let mut ola_socket = connect(&app, &ola).await;
    send(
        &mut ola_socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 1 }),
    )
    .await;
    let snapshot = loop {
        let message = next_any(&mut kari_socket).await;
        if message["type"] == "presence" {
            break message;
        }
    };
    assert_eq!(
        (
            &snapshot["people"][0]["name"],
            &snapshot["people"][1]["name"],
            &snapshot["count"]
        ),
        (&json!("Kari"), &json!("Ola"), &json!(2)),
        "Kari hears Ola join"
    );
    // Ola's snapshot lists both.
    let snapshot = loop {
        let message = next_any(&mut ola_socket).await;
        if message["type"] == "presence" {
            break message;
        }
    };
    assert_eq!(snapshot["count"], 2);
    send(&mut ola_socket, json!({ "type": "typing", "thread_id": thread_id })).await;
    loop {
        let message = next_any(&mut kari_socket).await;
        if message["type"] == "typing" {
            assert_eq!(
                (&message["thread_id"], &message["name"]),
                (&json!(thread_id), &json!("Ola"))
            );
            break;
        }
    }
    let ola_id = user_id(&app, &ola).await;
    drop(ola_socket);
    let snapshot = loop {
        let message = next_any(&mut kari_socket).await;
        if message["type"] == "presence" {
            break message;
        }
    };
    assert_eq!(snapshot["count"], 1, "Ola left");
    assert_ne!(snapshot["people"][0]["user_id"], ola_id);
    let events = app
        .get(&format!("/api/v1/cohorts/{food}/events"), Some(&kari))
        .await
        .json();
    assert_eq!(
        events.as_array().unwrap().len(),
        1,
        "only the thread itself is stored: {events}"
    );
}

/// Many people arriving at once: the others get one snapshot per second with all of them, not
/// one message per person, and a snapshot names the first 20 and counts everyone.
#[tokio::test]
async fn presence_changes_are_sent_together_and_name_at_most_twenty() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let mut kari_socket = connect(&app, &kari).await;
    send(&mut kari_socket, json!({ "type": "subscribe", "cohort_id": food })).await;
    loop {
        if next_any(&mut kari_socket).await["type"] == "presence" {
            break;
        }
    }
    let started = std::time::Instant::now();
    let mut others = Vec::new();
    for n in 1..=24 {
        let token = app
            .member_token(
                food,
                &format!("member{n}@example.no"),
                &format!("Member {n:02}"),
                Role::ProjectLead,
            )
            .await;
        let mut socket = connect(&app, &token).await;
        send(&mut socket, json!({ "type": "subscribe", "cohort_id": food })).await;
        others.push(socket);
    }
    let mut snapshots = 0;
    let last = loop {
        let message = next_any(&mut kari_socket).await;
        if message["type"] == "presence" {
            snapshots += 1;
            if message["count"] == 25 {
                break message;
            }
        }
    };
    let people = last["people"].as_array().unwrap();
    assert_eq!(people.len(), 20, "the first 20 are named: {last}");
    assert_eq!(people[0]["name"], "Kari", "ordered by user id");
    // One snapshot per second at most (and one more for the second that had begun).
    let seconds = started.elapsed().as_secs() as usize;
    assert!(
        snapshots <= seconds + 2,
        "{snapshots} snapshots for 24 arrivals in {seconds} s"
    );
    drop(others);
    loop {
        let message = next_any(&mut kari_socket).await;
        if message["type"] == "presence" && message["count"] == 1 {
            break;
        }
    }
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_to_resync_and_then_gets_everything_once() {
    let app = samling_tests::spawn_app_with(|settings| settings.posts_per_minute = 10_000).await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let thread_id = start_thread(&app, &kari, food).await;
    let mut slow = connect(&app, &ola).await;
    send(&mut slow, json!({ "type": "subscribe", "cohort_id": food, "after": 1 })).await;
    assert_eq!(next(&mut slow).await["type"], "subscribed");

    // Ola's socket stops reading while big posts pile up: more than the socket buffers and
    // the server's queue hold.
    let body = "Matsvinn ".repeat(2_000);
    let posts = 2 * samling::realtime::QUEUE_CAPACITY + 100;
    for n in 0..posts {
        let response = app
            .post_json(
                &format!("/api/v1/threads/{thread_id}/posts"),
                Some(&kari),
                &json!({ "body": body, "client_id": format!("big-{n}") }),
            )
            .await;
        assert_eq!(response.status.as_u16(), 201, "{}", response.body);
    }

    let mut seqs = Vec::new();
    let mut resyncs = 0;
    while seqs.last() != Some(&(posts as i64 + 1)) {
        let message = next(&mut slow).await;
        match message["type"].as_str() {
            Some("event") => seqs.push(message["seq"].as_i64().unwrap()),
            Some("resync") => {
                resyncs += 1;
                assert_eq!(message["after"].as_i64(), seqs.last().copied().or(Some(1)), "{message}");
                send(
                    &mut slow,
                    json!({ "type": "subscribe", "cohort_id": food, "after": message["after"] }),
                )
                .await;
            }
            Some("subscribed") => {}
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
    assert!(resyncs >= 1, "the slow client was told to resync");
    let expected: Vec<i64> = (2..=posts as i64 + 1).collect();
    assert_eq!(seqs, expected, "every event once, in order");
    quiet(&mut slow).await;
}

#[tokio::test]
async fn a_client_too_far_behind_is_told_to_reload() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    start_thread(&app, &kari, food).await;
    let mut socket = connect(&app, &kari).await;
    // A number the cohort never reached (a restored backup, say): replay cannot be trusted.
    send(
        &mut socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 999 }),
    )
    .await;
    assert_eq!(
        next(&mut socket).await,
        json!({ "type": "reload", "cohort_id": food, "last_seq": 1 })
    );
}

#[tokio::test]
async fn removing_deactivating_or_signing_out_a_member_closes_their_sockets() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fride")
        .await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let per = app.member_token(food, "per@example.no", "Per", Role::ProjectLead).await;
    let mut sockets = Vec::new();
    for token in [&kari, &ola, &per] {
        let mut socket = connect(&app, token).await;
        send(
            &mut socket,
            json!({ "type": "subscribe", "cohort_id": food, "after": 0 }),
        )
        .await;
        assert_eq!(next(&mut socket).await["type"], "subscribed");
        sockets.push(socket);
    }
    let [mut kari_socket, mut ola_socket, mut per_socket] = <[Socket; 3]>::try_from(sockets).ok().unwrap();

    let kari_id = user_id(&app, &kari).await;
    let removed = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/cohorts/{food}/members/{kari_id}"),
            Some(&facilitator),
            &json!({}),
        )
        .await;
    assert_eq!(removed.status.as_u16(), 204, "{}", removed.body);
    let closed = tokio::time::timeout(Duration::from_secs(5), close_code(&mut kari_socket)).await;
    assert_eq!(closed, Ok(Some(4403)), "a removed member's socket closes");
    // And she gets nothing of the cohort any more.
    let mut again = connect(&app, &kari).await;
    send(
        &mut again,
        json!({ "type": "subscribe", "cohort_id": food, "after": 0 }),
    )
    .await;
    assert_eq!(next(&mut again).await["code"], "not_found");

    let signed_out = app
        .send_json(reqwest::Method::DELETE, "/api/v1/auth/session", Some(&ola), &json!({}))
        .await;
    assert_eq!(signed_out.status.as_u16(), 204);
    let closed = tokio::time::timeout(Duration::from_secs(5), close_code(&mut ola_socket)).await;
    assert_eq!(closed, Ok(Some(4401)), "signing out closes the socket");

    let per_id = user_id(&app, &per).await;
    let deactivated = app
        .post_json(
            &format!("/api/v1/admin/users/{per_id}/deactivate"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(deactivated.status.as_u16(), 204, "{}", deactivated.body);
    let closed = tokio::time::timeout(Duration::from_secs(5), close_code(&mut per_socket)).await;
    assert_eq!(closed, Ok(Some(4401)), "deactivation closes the socket");
}

#[tokio::test]
async fn a_socket_closes_when_its_session_expires_and_does_nothing_after() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let thread_id = start_thread(&app, &kari, food).await;
    let mut idle = connect(&app, &kari).await;
    let mut posting = connect(&app, &kari).await;
    for socket in [&mut idle, &mut posting] {
        send(socket, json!({ "type": "subscribe", "cohort_id": food, "after": 1 })).await;
        assert_eq!(next(socket).await["type"], "subscribed");
    }

    // The session's last moment passes; one socket posts at once, the other says nothing.
    app.clock.advance(chrono::Duration::hours(app.settings.session_hours));
    let _ = posting
        .send(Message::Text(
            json!({ "type": "post", "thread_id": thread_id, "body": "Too late", "client_id": "late" })
                .to_string()
                .into(),
        ))
        .await;
    for (which, socket) in [("posting", &mut posting), ("idle", &mut idle)] {
        let closed = tokio::time::timeout(Duration::from_secs(5), close_frame(socket)).await;
        assert_eq!(
            closed,
            Ok(Some((4401, "session_expired".to_string()))),
            "an expired session closes its sockets ({which})"
        );
    }
    assert_eq!(app.get("/api/v1/me", Some(&kari)).await.status.as_u16(), 401);
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let detail = app
        .get(&format!("/api/v1/threads/{thread_id}"), Some(&ola))
        .await
        .json();
    let client_ids: Vec<&str> = detail["posts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|post| post["client_id"].as_str())
        .collect();
    assert_eq!(
        client_ids,
        vec!["start"],
        "the post sent after the session ended was not stored"
    );
}

#[tokio::test]
async fn a_flood_closes_that_socket_with_a_clear_code_and_others_keep_being_served() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let thread_id = start_thread(&app, &kari, food).await;
    let mut calm = connect(&app, &ola).await;
    send(&mut calm, json!({ "type": "subscribe", "cohort_id": food, "after": 1 })).await;
    assert_eq!(next(&mut calm).await["type"], "subscribed");

    let mut flooder = connect(&app, &kari).await;
    for _ in 0..500 {
        if flooder
            .send(Message::Text(json!({ "type": "ping" }).to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let closed = tokio::time::timeout(Duration::from_secs(5), close_code(&mut flooder)).await;
    assert_eq!(closed, Ok(Some(1008)), "a flood is closed as a policy violation");

    let live = post(&app, &kari, thread_id, "after-flood").await;
    assert_eq!(next(&mut calm).await["post_id"], live, "the others are still served");
}

/// Posts through the server instance at `address`.
async fn post_to(app: &TestApp, address: &str, token: &str, thread_id: i64, client_id: &str) -> i64 {
    let response = app
        .api
        .post(format!("{address}/api/v1/threads/{thread_id}/posts"))
        .bearer_auth(token)
        .json(&json!({ "body": client_id, "client_id": client_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    response.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn after_a_server_restart_no_stored_post_is_lost_and_clients_resume() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let thread_id = start_thread(&app, &kari, food).await;

    let first = app.start_instance().await;
    let mut socket = connect_to(&first.address, &ola).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 1 }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    let before = post_to(&app, &first.address, &kari, thread_id, "before-restart").await;
    let event = next(&mut socket).await;
    assert_eq!(
        (event["seq"].as_i64(), event["post_id"].as_i64()),
        (Some(2), Some(before))
    );

    // The instance goes down; its socket ends; posts are made elsewhere meanwhile.
    first.stop();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), close_code(&mut socket)).await,
        Ok(None),
        "the connection ended with the instance"
    );
    let during: Vec<i64> = vec![
        post(&app, &kari, thread_id, "during-1").await,
        post(&app, &kari, thread_id, "during-2").await,
    ];

    let second = app.start_instance().await;
    let mut socket = connect_to(&second.address, &ola).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 2 }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    let mut replayed = Vec::new();
    for _ in 0..2 {
        replayed.push(next(&mut socket).await["post_id"].as_i64().unwrap());
    }
    assert_eq!(replayed, during, "everything missed, in order");
    let after = post_to(&app, &second.address, &kari, thread_id, "after-restart").await;
    let event = next(&mut socket).await;
    assert_eq!(
        (event["seq"].as_i64(), event["post_id"].as_i64()),
        (Some(5), Some(after))
    );
    quiet(&mut socket).await;
    let stored = app
        .get(&format!("/api/v1/threads/{thread_id}"), Some(&kari))
        .await
        .json();
    assert_eq!(stored["posts"].as_array().unwrap().len(), 5, "no stored post lost");
}

/// Several instances share signals through PostgreSQL's LISTEN/NOTIFY; with SQLite Samling
/// runs as one instance, so this test needs the PostgreSQL run.
#[tokio::test]
async fn a_post_through_one_instance_reaches_sockets_on_another() {
    if !samling_tests::backend_is_postgres() {
        return;
    }
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let thread_id = start_thread(&app, &kari, food).await;
    let other = app.start_instance().await;
    let mut socket = connect_to(&other.address, &ola).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 1 }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");

    let mut posted = Vec::new();
    for n in 0..5 {
        posted.push(post(&app, &kari, thread_id, &format!("first-instance-{n}")).await);
    }
    let mut delivered = Vec::new();
    for _ in 0..5 {
        let event = next(&mut socket).await;
        delivered.push((event["seq"].as_i64().unwrap(), event["post_id"].as_i64().unwrap()));
    }
    let expected: Vec<(i64, i64)> = (2..).zip(posted).collect();
    assert_eq!(delivered, expected, "live, in order, once, across instances");
    quiet(&mut socket).await;

    // Deactivating Ola through the first instance closes his socket on the second.
    let ola_id = user_id(&app, &ola).await;
    let deactivated = app
        .post_json(
            &format!("/api/v1/admin/users/{ola_id}/deactivate"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(deactivated.status.as_u16(), 204);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), close_code(&mut socket)).await,
        Ok(Some(4401))
    );
}

#[tokio::test]
async fn posts_made_at_once_by_several_members_arrive_in_order_once_each_with_their_text() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let mut tokens = Vec::new();
    for n in 0..4 {
        let email = format!("medlem{n}@example.no");
        tokens.push(
            app.member_token(food, &email, &format!("Medlem {n}"), Role::ProjectLead)
                .await,
        );
    }
    let thread_id = start_thread(&app, &tokens[0], food).await;
    let mut socket = connect(&app, &tokens[0]).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 1 }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");

    // Four members post ten times each, all at once: commits and their signals interleave,
    // so some events reach the hub out of order and must come from the log.
    let senders = tokens.iter().enumerate().map(|(n, token)| {
        let app = &app;
        async move {
            let mut ids = Vec::new();
            for m in 0..10 {
                ids.push(post(app, token, thread_id, &format!("m{n}-{m}")).await);
            }
            ids
        }
    });
    let mut posted: Vec<i64> = futures::future::join_all(senders).await.concat();
    let mut seen = Vec::new();
    for expected_seq in 2..42 {
        let event = next(&mut socket).await;
        assert_eq!(event["seq"].as_i64(), Some(expected_seq), "{event}");
        let post = &event["post"];
        assert_eq!(
            post["body_html"].as_str().map(str::trim),
            Some(format!("<p>{}</p>", post["client_id"].as_str().unwrap()).as_str())
        );
        seen.push(event["post_id"].as_i64().unwrap());
    }
    quiet(&mut socket).await;
    seen.sort_unstable();
    posted.sort_unstable();
    assert_eq!(seen, posted, "every post once");
}
