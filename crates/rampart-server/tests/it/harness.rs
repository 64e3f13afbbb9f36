//! A deployment in a temp dir with the whole router, and a viewer and a scoped key beside the
//! bootstrap admin.

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use rampart_access::{AccessStore, Principal, PrincipalKind};
use rampart_server::config::{FlagOverrides, Settings};
use rampart_server::deployment;
use serde_json::Value;
use tower::ServiceExt as _;

pub struct App {
    pub router: Router,
    pub admin: String,
    pub viewer: String,
    pub viewer_id: String,
    pub read_only_admin: String,
    /// An `operator`: encrypts and tokenizes, but may not decrypt or detokenize.
    pub operator: String,
    pub verifier_key: String,
    pub state: rampart_server::state::AppState,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl App {
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// An app whose settings also take `extra` (`RAMPART_*` variables).
    pub async fn with_env(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![(
            "RAMPART_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        )];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let loaded = Settings::load(None, env, &FlagOverrides::default()).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let initialized = deployment::initialize(&loaded, now).await.unwrap();
        let opened = deployment::open(&loaded).await.unwrap();
        let viewer = Principal {
            id: uuid::Uuid::now_v7(),
            kind: PrincipalKind::User,
            name: "vera".into(),
            email: None,
            roles: vec!["viewer".into()],
            teams: vec![],
            disabled: false,
            created_at: now,
            subject_id: None,
            owner_id: None,
        };
        opened.store.insert_principal(&viewer).await.unwrap();
        let (viewer_key, record) = opened
            .api_key_pepper
            .issue(viewer.id, "viewer", None, None, now)
            .unwrap();
        opened.store.insert_api_key(&record).await.unwrap();
        let admin_id = opened
            .store
            .find_api_key(&opened.api_key_pepper.hash(&initialized.admin_api_key))
            .await
            .unwrap()
            .unwrap()
            .1
            .id;
        let (scoped, record) = opened
            .api_key_pepper
            .issue(
                admin_id,
                "read-only",
                Some(vec!["audit:read".into()]),
                None,
                now,
            )
            .unwrap();
        opened.store.insert_api_key(&record).await.unwrap();
        let operator = Principal {
            id: uuid::Uuid::now_v7(),
            kind: PrincipalKind::Service,
            name: "ops-bot".into(),
            email: None,
            roles: vec!["operator".into()],
            teams: vec![],
            disabled: false,
            created_at: now,
            subject_id: None,
            owner_id: None,
        };
        opened.store.insert_principal(&operator).await.unwrap();
        let (operator_key, record) = opened
            .api_key_pepper
            .issue(operator.id, "operator", None, None, now)
            .unwrap();
        opened.store.insert_api_key(&record).await.unwrap();
        let verifier_key = opened.audit.verifier().verifier_key();
        let (state, router) = rampart_server::app(opened, loaded.settings).unwrap();
        Self {
            router,
            admin: initialized.admin_api_key.expose().to_owned(),
            viewer: viewer_key.expose().to_owned(),
            viewer_id: viewer.id.to_string(),
            read_only_admin: scoped.expose().to_owned(),
            operator: operator_key.expose().to_owned(),
            verifier_key,
            state,
            _dir: dir,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let body = match body {
            Some(value) => {
                request = request.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&value).unwrap())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    /// Like [`App::call`], as if from the TCP peer `ip`.
    pub async fn call_from(
        &self,
        ip: &str,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let body = match body {
            Some(value) => {
                request = request.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&value).unwrap())
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        let peer: std::net::SocketAddr = format!("{ip}:40000")
            .parse()
            .or_else(|_| format!("[{ip}]:40000").parse())
            .unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, Some(&self.admin), None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(&self.admin), Some(body))
            .await
    }
}

pub fn event(i: usize) -> Value {
    serde_json::json!({"actor": {"type": "user", "id": format!("u{i}")}, "action": "record.read",
        "resource": {"type": "record", "id": format!("r{i}")}, "status": "success"})
}
