//! The desk's web page: axum on a current-thread tokio runtime in a thread of its own,
//! HTTP/1.1, server-sent events for the push.
//!
//! - Binds to loopback unless the operator asks otherwise (`--allow-remote`), and then
//!   every request must carry the token (`?token=` or `Authorization: Bearer`).
//! - On loopback the `Host` header must name loopback too (no DNS rebinding: a web
//!   site whose name resolves to 127.0.0.1 cannot read the page).
//! - Every answer says `Cache-Control: no-store`: the page holds personal data.
//! - The page, its script and style are compiled into the binary (no CDN, works
//!   offline); a strict Content-Security-Policy allows nothing else.
//! - Keys typed on the page arrive by `POST /key` with a custom header, which a
//!   cross-origin page cannot send without a CORS preflight this server never grants.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio::sync::watch;
use zeroize::Zeroizing;

use super::view::ResultView;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("app.css");
/// The most a page may post as a key (an MRZ is 90 characters; a pasted block with
/// separators a little more).
const MAX_KEY_BODY: usize = 512;

/// What the page is served from: the state's JSON and the result whose face it shows.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// `GET /state` body.
    pub json: String,
    /// The result shown (its face is served).
    pub result: Option<Arc<ResultView>>,
}

/// Who may talk to the server.
#[derive(Clone)]
pub struct Access {
    /// The token required on every request (`--allow-remote`), if any.
    pub token: Option<Arc<Zeroizing<String>>>,
    /// Whether the server listens on loopback (then `Host` must be loopback).
    pub loopback: bool,
}

#[derive(Clone)]
struct AppState {
    access: Access,
    snapshots: watch::Receiver<Snapshot>,
    keys: std::sync::mpsc::Sender<Zeroizing<String>>,
}

/// `/face.png?r=ID` (a `token` parameter, when any, was checked by the guard).
#[derive(Deserialize)]
struct FaceQuery {
    r: Option<u64>,
}

fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn token_ok(expected: &str, headers: &HeaderMap, query: Option<&str>) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    [bearer, query]
        .into_iter()
        .flatten()
        .any(|given| given.as_bytes().ct_eq(expected.as_bytes()).into())
}

fn token_in_query(uri: &axum::http::Uri) -> Option<String> {
    uri.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::to_string)
}

async fn guard(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if app.access.loopback && !host_is_loopback(headers) {
        return (
            StatusCode::FORBIDDEN,
            "the desk page answers only to a loopback host name\n",
        )
            .into_response();
    }
    if let Some(expected) = &app.access.token {
        let q = token_in_query(request.uri());
        if !token_ok(expected, headers, q.as_deref()) {
            return (StatusCode::UNAUTHORIZED, "token required\n").into_response();
        }
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::EXPIRES, HeaderValue::from_static("0"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    response
}

fn typed(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The page with the current state inside (a JSON data block: not a script, so the
/// Content-Security-Policy holds), so the first paint is the current state.
async fn page(State(app): State<AppState>) -> Response {
    let json = app.snapshots.borrow().json.replace('<', "\\u003c");
    let html = PAGE.replacen(
        "<!--STATE-->",
        &format!("<script type=\"application/json\" id=\"initial-state\">{json}</script>"),
        1,
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

async fn script() -> Response {
    typed("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    typed("text/css; charset=utf-8", STYLE)
}

async fn state(State(app): State<AppState>) -> Response {
    let json = app.snapshots.borrow().json.clone();
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

async fn face(State(app): State<AppState>, Query(q): Query<FaceQuery>) -> Response {
    let result = app.snapshots.borrow().result.clone();
    match (result, q.r) {
        (Some(r), Some(id)) if r.result_id == id => match &r.face_png {
            Some(png) => ([(header::CONTENT_TYPE, "image/png")], Bytes::from(png.to_vec())).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        // the face of a document no longer on the reader is gone
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn events(State(app): State<AppState>) -> Response {
    let rx = app.snapshots.clone();
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first {
            rx.changed().await.ok()?;
        }
        let json = rx.borrow_and_update().json.clone();
        Some((Ok::<_, Infallible>(SseEvent::default().data(json)), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

async fn key(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if headers.get("x-emrtd-desk").is_none() {
        return (StatusCode::FORBIDDEN, "missing X-Emrtd-Desk header\n").into_response();
    }
    if body.len() > MAX_KEY_BODY {
        return (StatusCode::PAYLOAD_TOO_LARGE, "too long for an MRZ or CAN\n").into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "not text\n").into_response();
    };
    match app.keys.send(Zeroizing::new(text.to_string())) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[derive(Deserialize)]
struct Rendered {
    result_id: u64,
    latency_ms: f64,
}

/// The page reports when a verdict was on screen, and how long after the card was
/// seen (the `desk_verdict_latency_ms` benchmark reads this line; no holder data).
async fn rendered(headers: HeaderMap, body: Bytes) -> Response {
    if headers.get("x-emrtd-desk").is_none() {
        return (StatusCode::FORBIDDEN, "missing X-Emrtd-Desk header\n").into_response();
    }
    match serde_json::from_slice::<Rendered>(&body) {
        Ok(r) if r.latency_ms.is_finite() => {
            eprintln!(
                "emrtd desk: page showed result {} {:.1} ms after the card was seen",
                r.result_id, r.latency_ms
            );
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// The router.
fn router(app: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/app.js", get(script))
        .route("/app.css", get(style))
        .route("/state", get(state))
        .route("/events", get(events))
        .route("/face.png", get(face))
        .route("/key", post(key))
        .route("/rendered", post(rendered))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Serve on `listener` (already bound) in a new thread. Keys typed on the page go to
/// `keys`; the page follows `snapshots`.
pub fn spawn(
    listener: std::net::TcpListener,
    access: Access,
    snapshots: watch::Receiver<Snapshot>,
    keys: std::sync::mpsc::Sender<Zeroizing<String>>,
) -> anyhow::Result<(SocketAddr, std::thread::JoinHandle<()>)> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let app = AppState {
        access,
        snapshots,
        keys,
    };
    let handle = std::thread::Builder::new()
        .name("desk-http".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("emrtd: error: the desk page cannot listen: {e}");
                        return;
                    }
                };
                if let Err(e) = axum::serve(listener, router(app)).await {
                    eprintln!("emrtd: error: the desk page stopped: {e}");
                }
            });
        })?;
    Ok((addr, handle))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h
    }

    #[test]
    fn loopback_hosts_only() {
        assert!(host_is_loopback(&headers("127.0.0.1:8088")));
        assert!(host_is_loopback(&headers("localhost:8088")));
        assert!(host_is_loopback(&headers("[::1]:8088")));
        assert!(!host_is_loopback(&headers("evil.example:8088")));
        assert!(!host_is_loopback(&headers("127.0.0.1.evil.example")));
        assert!(!host_is_loopback(&HeaderMap::new()));
    }

    #[test]
    fn token_by_bearer_or_query() {
        let mut h = HeaderMap::new();
        assert!(!token_ok("s3cret", &h, None));
        assert!(token_ok("s3cret", &h, Some("s3cret")));
        assert!(!token_ok("s3cret", &h, Some("s3cre")));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        assert!(token_ok("s3cret", &h, None));
        let uri: axum::http::Uri = "/state?x=1&token=abc".parse().unwrap();
        assert_eq!(token_in_query(&uri).as_deref(), Some("abc"));
    }
}
