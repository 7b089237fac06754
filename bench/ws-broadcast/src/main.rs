//! A bare WebSocket broadcast hub: every text frame any client sends is sent
//! to every connected client. tokio-tungstenite with its default buffers,
//! one task per connection, a `tokio::sync::broadcast` channel in between:
//! the floor the socket service's fan-out is compared with.
//!
//! `bench-ws-broadcast <port>`; prints `listening <port>` when ready.

use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "0".into())
        .parse()?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening {}", listener.local_addr()?.port());
    let (hub, _) = broadcast::channel::<Message>(1024);
    loop {
        let (stream, _) = listener.accept().await?;
        let hub = hub.clone();
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let (mut sink, mut source) = ws.split();
            let mut frames = hub.subscribe();
            loop {
                tokio::select! {
                    incoming = source.next() => match incoming {
                        Some(Ok(Message::Text(text))) => { let _ = hub.send(Message::Text(text)); }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                    frame = frames.recv() => match frame {
                        Ok(frame) => if sink.send(frame).await.is_err() { break },
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => break,
                    },
                }
            }
        });
    }
}
