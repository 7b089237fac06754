//! Nothing a client does holds a connection open (issue 11, B): a head
//! trickled line by line, a body that stops short, a connection that says
//! nothing — each is cut at its timeout, while WebSockets live on. Bounds
//! are generous (the suite shares two cores): "closed well before the
//! attack would have ended", never a latency.

use std::time::Duration;

use ledgerline::{Application, Target};
use ledgerline_runtime::Shutdown;
use tokio::time::Instant;

use crate::helpers::{connect_socket, spawn_app_with, status_frames};
use crate::raw_http::{closed_within, connect, read_answer, send};

/// Far longer than any timeout set below, far shorter than an attack.
const GENEROUS: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_trickled_line_by_line_is_cut_at_the_header_timeout() {
    let app = spawn_app_with(|c| c.http_header_timeout_secs = 1).await;
    let mut tcp = connect(app.port).await;
    let started = Instant::now();
    assert!(send(&mut tcp, "GET /healthz HTTP/1.1\r\nHost: ledgerline\r\n").await);
    // A header line every 300 ms, for up to 40 s: slowloris.
    let mut cut = false;
    while started.elapsed() < Duration::from_secs(40) {
        if !send(&mut tcp, "X-Slow: 1\r\n").await
            || closed_within(&mut tcp, Duration::from_millis(300)).await
        {
            cut = true;
            break;
        }
    }
    assert!(cut, "a trickled head kept the connection for 40 s");
    assert!(
        started.elapsed() < GENEROUS,
        "cut after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_length_gets_408_at_the_body_timeout() {
    let app = spawn_app_with(|c| c.http_body_timeout_secs = 1).await;
    let mut tcp = connect(app.port).await;
    let started = Instant::now();
    let head = "POST /auth/demo-login HTTP/1.1\r\nHost: ledgerline\r\n\
                Content-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    assert!(send(&mut tcp, &format!("{head}{{\"userId\":")).await);
    let answer = read_answer(&mut tcp, GENEROUS).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("body-timeout"), "{answer}");
    assert!(started.elapsed() < GENEROUS);
    // The rest of the body will never be read: the connection closes.
    assert!(closed_within(&mut tcp, GENEROUS).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_at_the_idle_timeout() {
    // A long header timeout: only the idle timeout can close these.
    let app = spawn_app_with(|c| {
        c.http_idle_timeout_secs = 1;
        c.http_header_timeout_secs = 120;
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(connect(app.port).await);
    }
    let mut kept_alive = connect(app.port).await;
    assert!(
        send(
            &mut kept_alive,
            "GET /healthz HTTP/1.1\r\nHost: ledgerline\r\n\r\n"
        )
        .await
    );
    let answer = read_answer(&mut kept_alive, GENEROUS).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let started = Instant::now();
    assert!(
        closed_within(&mut kept_alive, GENEROUS).await,
        "kept-alive connection left open"
    );
    for tcp in &mut silent {
        assert!(
            closed_within(tcp, GENEROUS).await,
            "silent connection left open"
        );
    }
    assert!(started.elapsed() < GENEROUS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_outlives_the_idle_and_header_timeouts() {
    let app = spawn_app_with(|c| {
        c.http_idle_timeout_secs = 1;
        c.http_header_timeout_secs = 1;
        c.http_body_timeout_secs = 1;
    })
    .await;
    let alice = app.token("alice").await;
    let mut socket = connect_socket(app.port, &alice, "").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.open_account(&alice, "acc-ws").await;
    let statuses = status_frames(&mut socket, 1, GENEROUS).await;
    assert_eq!(statuses.len(), 1, "the socket stopped delivering");
    assert_eq!(statuses[0]["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting_and_returns_with_connections_open() {
    let app = spawn_app_with(|_| {}).await;
    // A second process on the same NATS and database, to stop on its own.
    let mut config = app.config.clone();
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    let shutdown = Shutdown::new();
    let socket_process = Application::build(config, &[Target::SocketService], shutdown.clone())
        .await
        .unwrap();
    let port = socket_process.port();
    let running = tokio::spawn(socket_process.run());
    let alice = app.token("alice").await;
    let _socket = connect_socket(port, &alice, "").await;
    let _idle = connect(port).await;
    let mut mid_head = connect(port).await;
    assert!(send(&mut mid_head, "GET /healthz HTTP/1.1\r\n").await);

    let started = Instant::now();
    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(30), running).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "run did not return: {stopped:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "still accepting after shutdown"
    );
}
