//! The HTTP side of the simulated API server: routing, bodies, errors, watches, logs and the
//! service proxy.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::SimState;
use super::auth::{self, Identity};
use super::discovery;
use super::errors::ApiError;
use super::resources::ResourceType;
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{Propagation, WriteOpts, served_as};

pub type Body = BoxBody<Bytes, Infallible>;

/// Real API servers refuse bodies over 3 MiB.
const MAX_BODY: usize = 3 * 1024 * 1024;

pub(crate) fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "application/json")
        .body(full(serde_json::to_vec(v).unwrap_or_default()))
        .unwrap_or_else(|_| Response::new(full("")))
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.status())
}

fn text_response(code: u16, text: String) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(full(text))
        .unwrap_or_else(|_| Response::new(full("")))
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| {
            q.split('&')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (decode(k), decode(v))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Entry point for every request.
pub async fn handle(
    state: Arc<SimState>,
    req: Request<Incoming>,
    peer_cert: Option<Arc<Vec<u8>>>,
) -> Result<Response<Body>, std::io::Error> {
    if state.is_down() {
        // An API server that is restarting: the connection fails.
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "api server restarting",
        ));
    }
    if !state.options.latency.is_zero() {
        tokio::time::sleep(state.options.latency).await;
    }
    // Longer request lines than this are refused before anything else is read.
    const MAX_URI: usize = 32 * 1024;
    let uri_len = req.uri().to_string().len();
    if uri_len > MAX_URI {
        return Ok(error_response(&ApiError::new(
            414,
            "",
            format!("the request URI is {uri_len} bytes long; the server accepts up to {MAX_URI}"),
        )));
    }
    let who = state.authority.authenticate(
        req.headers()
            .get("authorization")
            .and_then(|a| a.to_str().ok()),
        peer_cert.as_deref().map(Vec::as_slice),
    );
    let answer = match who {
        Ok(who) => route(state, req, &who).await,
        Err(e) => Err(e),
    };
    Ok(answer.unwrap_or_else(|e| error_response(&e)))
}

struct Target {
    rt: ResourceType,
    namespace: String,
    name: Option<String>,
    sub: Option<String>,
    rest: String,
}

async fn route(
    state: Arc<SimState>,
    req: Request<Incoming>,
    who: &Identity,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let q = query(&req);
    let segs_ref: Vec<&str> = segs.iter().map(String::as_str).collect();
    if let Some(r) = discovery_route(&state, &segs_ref) {
        return r;
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segs_ref.as_slice() {
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => {
            return Err(ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        }
    };
    let (watch_path, rest) = match rest {
        ["watch", r @ ..] => (true, r),
        r => (false, r),
    };
    let target = {
        let store = state.store.lock().map_err(poisoned)?;
        resolve(&store, group, version, rest)?
    };
    let watch = watch_path || q.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = auth::verb(req.method(), target.name.is_some(), watch);
    if !target.rt.review && !who.may(verb) {
        return Err(auth::forbidden(
            who,
            verb,
            &target.rt.group,
            &target.rt.plural,
            target.name.as_deref(),
            &target.namespace,
        ));
    }
    if let Some(r) = &state.options.recorded
        && !target.rt.review
    {
        recorded_refusal(r, verb, &target)?;
    }
    if target.rt.computed {
        return computed(&state, &target, req.method(), watch, &q);
    }
    // `kubectl get` asks for server-side printing.
    let as_table = req
        .headers()
        .get("accept")
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"));
    match (
        req.method().clone(),
        target.name.is_some(),
        target.sub.as_deref(),
    ) {
        (Method::GET, _, Some("log")) => logs(state, &target, &q).await,
        (_, true, Some("exec" | "attach" | "portforward")) => {
            stream_upgrade(state, &target, req).await
        }
        (
            method @ (Method::GET | Method::PATCH | Method::PUT),
            true,
            Some("ephemeralcontainers"),
        ) => ephemeral_containers(&state, &target, req, &q, method).await,
        (Method::POST, true, Some("token")) => token_request(&state, &target, req).await,
        (_, _, Some("proxy")) => proxy(state, &target, req).await,
        (Method::GET, false, None) if watch => start_watch(state, &target, &q),
        (Method::GET, false, None) if as_table => list_table(&state, &target, &q),
        (Method::GET, false, None) => list(&state, &target, &q),
        (Method::GET, true, None) if watch => start_watch(state, &target, &q),
        (method @ (Method::GET | Method::PUT | Method::PATCH), true, Some("scale")) => {
            let body = if method == Method::GET {
                None
            } else {
                Some(read_body(req).await?)
            };
            let kind = if method == Method::PATCH {
                "PatchOptions"
            } else {
                "UpdateOptions"
            };
            let opts = write_opts(&q, kind)?;
            let mut store = state.store.lock().map_err(poisoned)?;
            scale(&mut store, &target, body, &opts)
        }
        (Method::GET, true, _) => get_one(&state, &target, &q, as_table),
        (Method::POST, false, None) => create(&state, &target, req, &q, who).await,
        (Method::PUT, true, sub) => {
            let sub = sub.map(str::to_string);
            replace(&state, &target, req, &q, sub.as_deref()).await
        }
        (Method::PATCH, true, sub) => {
            let sub = sub.map(str::to_string);
            patch(&state, &target, req, &q, sub.as_deref()).await
        }
        (Method::DELETE, has_name, None) => delete(&state, &target, req, &q, has_name).await,
        (m, _, _) => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{m} is not supported here"),
        )),
    }
}

/// A read-only computed kind (`metrics.k8s.io`): get and list; the rest refused with
/// metrics-server's 405.
fn computed(
    state: &SimState,
    target: &Target,
    method: &Method,
    watch: bool,
    q: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    if method != Method::GET || watch || target.sub.is_some() {
        return Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ));
    }
    let lq = list_query(target, q)?;
    let store = state.store.lock().map_err(poisoned)?;
    let rate = |ns: &str| state.workloads.capture_rate(ns);
    let v = super::metrics::serve(
        &store,
        &rate,
        &target.rt.plural,
        lq.namespace,
        target.name.as_deref(),
        &lq.labels,
        &lq.fields,
    )?;
    Ok(json_response(200, &v))
}

/// The paths that are not resources: version, health, discovery and OpenAPI documents.
fn discovery_route(state: &SimState, segs: &[&str]) -> Option<Result<Response<Body>, ApiError>> {
    let not_found = || {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    };
    let types = || -> Result<Vec<ResourceType>, ApiError> {
        Ok(state.store.lock().map_err(poisoned)?.types().to_vec())
    };
    Some(match segs {
        ["version"] => Ok(json_response(
            200,
            &discovery::version(state.options.kubernetes_version),
        )),
        ["healthz" | "readyz" | "livez", ..] => Ok(text_response(200, "ok".into())),
        ["api"] => Ok(json_response(200, &discovery::core_versions(&state.addr))),
        ["apis"] => types().map(|t| json_response(200, &discovery::group_list(&t))),
        ["openapi", "v3"] => types().map(|t| json_response(200, &discovery::openapi_root(&t))),
        ["openapi", "v3", rest @ ..] => types().and_then(|t| {
            discovery::openapi_gv(&t, &rest.join("/"), state.options.kubernetes_version)
                .map(|d| json_response(200, &d))
                .ok_or_else(not_found)
        }),
        ["apis", g] => types().and_then(|t| {
            discovery::group(&t, g)
                .map(|d| json_response(200, &d))
                .ok_or_else(not_found)
        }),
        ["api", v] | ["apis", _, v] if !v.is_empty() && segs.len() <= 3 => {
            let g = if segs[0] == "api" { "" } else { segs[1] };
            types().and_then(|t| {
                discovery::resource_list(&t, g, v)
                    .map(|d| json_response(200, &d))
                    .ok_or_else(not_found)
            })
        }
        _ => return None,
    })
}

/// GET of one object, as JSON or as a Table for `kubectl get`.
fn get_one(
    state: &SimState,
    target: &Target,
    q: &HashMap<String, String>,
    as_table: bool,
) -> Result<Response<Body>, ApiError> {
    let store = state.store.lock().map_err(poisoned)?;
    let v = store.get(
        &target.rt,
        &target.namespace,
        target.name.as_deref().unwrap_or_default(),
    )?;
    if as_table && target.sub.is_none() {
        let include = super::table::Include::parse(q.get("includeObject").map(String::as_str));
        let meta = json!({"resourceVersion": v["metadata"]["resourceVersion"]});
        let printer = super::table_kinds::crd_columns(&store, &target.rt);
        return Ok(json_response(
            200,
            &super::table::table(&target.rt, &printer, &[v], include, meta),
        ));
    }
    Ok(json_response(200, &v))
}

/// POST: a new object (or a review answered for the caller).
async fn create(
    state: &SimState,
    target: &Target,
    req: Request<Incoming>,
    q: &HashMap<String, String>,
    who: &Identity,
) -> Result<Response<Body>, ApiError> {
    let body = read_body(req).await?;
    let obj = parse_body(&target.rt, &body.0, &body.1)?;
    let opts = write_opts(q, "CreateOptions")?;
    let mut store = state.store.lock().map_err(poisoned)?;
    let v = store.create(&target.rt, &target.namespace, obj, &opts)?;
    if target.rt.review {
        return Ok(json_response(201, &auth::review_for(who, v)));
    }
    Ok(json_response(201, &served_as(&target.rt, v)))
}

/// PUT: the object (or its status) replaced.
async fn replace(
    state: &SimState,
    target: &Target,
    req: Request<Incoming>,
    q: &HashMap<String, String>,
    sub: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let body = read_body(req).await?;
    let obj = parse_body(&target.rt, &body.0, &body.1)?;
    let opts = write_opts(q, "UpdateOptions")?;
    let name = target.name.clone().unwrap_or_default();
    let mut store = state.store.lock().map_err(poisoned)?;
    let v = store.update(
        &target.rt,
        &target.namespace,
        &name,
        obj,
        sub == Some("status"),
        &opts,
    )?;
    Ok(json_response(200, &served_as(&target.rt, v)))
}

/// PATCH: server-side apply, or a JSON, merge or strategic merge patch.
async fn patch(
    state: &SimState,
    target: &Target,
    req: Request<Incoming>,
    q: &HashMap<String, String>,
    sub: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let (ct, body) = read_body(req).await?;
    let opts = write_opts(q, "PatchOptions")?;
    let name = target.name.clone().unwrap_or_default();
    let ct_main = ct.split(';').next().unwrap_or_default().trim().to_string();
    if ct_main == "application/apply-patch+yaml" || ct_main == "application/apply-patch+cbor" {
        let text = String::from_utf8_lossy(&body);
        let obj = yaml_body(&text).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let manager = q
            .get("fieldManager")
            .cloned()
            .ok_or_else(|| ApiError::bad_request("fieldManager is required for apply requests"))?;
        let force = q.get("force").is_some_and(|f| f == "true");
        let mut store = state.store.lock().map_err(poisoned)?;
        let existed = store.get(&target.rt, &target.namespace, &name).is_ok();
        let v = store.apply(
            &target.rt,
            &target.namespace,
            &name,
            obj,
            &manager,
            force,
            &opts,
        )?;
        return Ok(json_response(
            if existed { 200 } else { 201 },
            &served_as(&target.rt, v),
        ));
    }
    let patch: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut store = state.store.lock().map_err(poisoned)?;
    let v = store.patch(
        &target.rt,
        &target.namespace,
        &name,
        &ct_main,
        &patch,
        sub == Some("status"),
        &opts,
    )?;
    Ok(json_response(200, &served_as(&target.rt, v)))
}

/// DELETE of one object or of a collection, with the propagation policy asked for.
async fn delete(
    state: &SimState,
    target: &Target,
    req: Request<Incoming>,
    q: &HashMap<String, String>,
    has_name: bool,
) -> Result<Response<Body>, ApiError> {
    let (ct, body) = read_body(req).await?;
    let mut propagation = q.get("propagationPolicy").cloned();
    let mut orphan_dependents = q.contains_key("orphanDependents");
    let mut dry_run = q.get("dryRun").is_some_and(|d| d == "All");
    if !body.is_empty()
        && !ct.contains("protobuf")
        && let Ok(opts) = serde_json::from_slice::<Value>(&body)
    {
        if let Some(p) = opts["propagationPolicy"].as_str() {
            propagation = Some(p.to_string());
        }
        orphan_dependents |= opts["orphanDependents"].is_boolean();
        super::validation::delete_options(propagation.as_deref(), orphan_dependents)?;
        if opts["orphanDependents"] == true {
            propagation = Some("Orphan".into());
        }
        if opts["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == "All"))
        {
            dry_run = true;
        }
    }
    super::validation::delete_options(propagation.as_deref(), false)?;
    let prop = match propagation.as_deref() {
        Some("Orphan") => Propagation::Orphan,
        Some("Foreground") => Propagation::Foreground,
        _ => Propagation::Background,
    };
    let opts = WriteOpts {
        dry_run,
        field_manager: None,
    };
    let mut store = state.store.lock().map_err(poisoned)?;
    if has_name {
        let name = target.name.clone().unwrap_or_default();
        let v = store.delete(&target.rt, &target.namespace, &name, prop, &opts)?;
        let gone = store.get(&target.rt, &target.namespace, &name).is_err();
        if gone && target.rt.kind != "Pod" {
            // Real servers answer a completed delete with a Success Status for most types.
            return Ok(json_response(
                200,
                &json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": target.rt.group, "kind": target.rt.plural, "uid": v["metadata"]["uid"]},
                }),
            ));
        }
        Ok(json_response(200, &v))
    } else {
        let labels = LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))
            .map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(q.get("fieldSelector").map(String::as_str).unwrap_or(""))
            .map_err(ApiError::bad_request)?;
        let ns = target
            .rt
            .namespaced
            .then_some(target.namespace.as_str())
            .filter(|n| !n.is_empty());
        let items = store
            .list(&target.rt, ns, &labels, &fields, None, None)?
            .items;
        let mut deleted = Vec::new();
        for it in items {
            let n = it["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = it["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if let Ok(v) = store.delete(&target.rt, &n, &name, prop, &opts) {
                deleted.push(v);
            }
        }
        let rv = store.current_rv();
        Ok(json_response(
            200,
            &json!({"kind": format!("{}List", target.rt.kind), "apiVersion": target.rt.api_version(),
                "metadata": {"resourceVersion": rv.to_string()}, "items": deleted}),
        ))
    }
}

fn poisoned<T>(_: T) -> ApiError {
    ApiError::new(500, "InternalError", "the store lock was poisoned")
}

fn resolve(
    store: &super::store::Store,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Target, ApiError> {
    let find = |plural: &str| store.find_type(group, version, plural);
    let not_found = || {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, r @ ..] if find(plural).is_some_and(|t| t.namespaced) => {
            ((*ns).to_string(), {
                let mut v = vec![*plural];
                v.extend_from_slice(r);
                v
            })
        }
        r => (String::new(), r.to_vec()),
    };
    let (plural, name, sub, tail) = match rest.as_slice() {
        [p] => (*p, None, None, String::new()),
        [p, n] => (*p, Some((*n).to_string()), None, String::new()),
        [p, n, s, tail @ ..] => (
            *p,
            Some((*n).to_string()),
            Some((*s).to_string()),
            tail.join("/"),
        ),
        _ => return Err(not_found()),
    };
    let rt = find(plural).ok_or_else(not_found)?;
    if let Some(s) = &sub
        && !rt.subresources.contains(&s.as_str())
    {
        return Err(not_found());
    }
    Ok(Target {
        rt,
        namespace,
        name,
        sub,
        rest: tail,
    })
}

async fn read_body(req: Request<Incoming>) -> Result<(String, Vec<u8>), ApiError> {
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let limited = http_body_util::Limited::new(req.into_body(), MAX_BODY);
    let body = limited.collect().await.map_err(|e| {
        if e.to_string().contains("length limit") {
            ApiError::new(
                413,
                "RequestEntityTooLarge",
                "the request is too large: limit is 3145728 bytes",
            )
        } else {
            ApiError::bad_request(format!("cannot read body: {e}"))
        }
    })?;
    Ok((ct, body.to_bytes().to_vec()))
}

/// A YAML request body (apply patches, `kubectl` with YAML) as the JSON the store keeps.
fn yaml_body(text: &str) -> Result<Value, serde_yaml::Error> {
    serde_yaml::from_str(text)
}

fn parse_body(rt: &ResourceType, ct: &str, body: &[u8]) -> Result<Value, ApiError> {
    let builtin = super::validation::is_builtin(&rt.kind, &rt.group);
    super::validation::media_type(ct, builtin)?;
    if ct.contains("protobuf") {
        return super::proto::decode(body)
            .map_err(|e| ApiError::bad_request(format!("cannot decode protobuf body: {e}")));
    }
    if ct.contains("yaml") {
        let text = String::from_utf8_lossy(body);
        return yaml_body(&text).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    Ok(v)
}

/// A write's options, refused as the server refuses them (`CreateOptions`, …).
fn write_opts(q: &HashMap<String, String>, kind: &str) -> Result<WriteOpts, ApiError> {
    super::validation::write_options(kind, q.get("fieldManager").map(String::as_str))?;
    Ok(WriteOpts {
        dry_run: q.get("dryRun").is_some_and(|d| d == "All"),
        field_manager: q.get("fieldManager").cloned(),
    })
}

/// An object's `/scale` subresource as `autoscaling/v1` Scale: read it, or write the replicas
/// a Scale (PUT) or a patch of one (PATCH) asks for.
fn scale(
    store: &mut super::store::Store,
    t: &Target,
    body: Option<(String, Vec<u8>)>,
    opts: &super::store::WriteOpts,
) -> Result<Response<Body>, ApiError> {
    let name = t.name.clone().unwrap_or_default();
    let live = store.get(&t.rt, &t.namespace, &name)?;
    let as_scale = |o: &Value| {
        let sel = &o["spec"]["selector"];
        let labels = sel["matchLabels"].as_object().or(sel.as_object());
        let selector: Vec<String> = labels
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != "matchExpressions" && k.as_str() != "matchLabels")
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        json!({
            "apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": o["metadata"]["name"], "namespace": o["metadata"]["namespace"],
                         "uid": o["metadata"]["uid"], "resourceVersion": o["metadata"]["resourceVersion"],
                         "creationTimestamp": o["metadata"]["creationTimestamp"]},
            "spec": {"replicas": o["spec"]["replicas"].as_i64().unwrap_or(1)},
            "status": {"replicas": o["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector.join(",")},
        })
    };
    let Some((ct, bytes)) = body else {
        return Ok(json_response(200, &as_scale(&live)));
    };
    let current = as_scale(&live);
    let ct_main = ct.split(';').next().unwrap_or_default().trim();
    let wanted: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid Scale body: {e}")))?;
    let new_scale = match ct_main {
        "application/merge-patch+json" => super::patch::merge_patch(&current, &wanted),
        "application/strategic-merge-patch+json" => {
            super::patch::strategic_merge(&current, &wanted).map_err(ApiError::bad_request)?
        }
        "application/json-patch+json" => super::patch::json_patch(&current, &wanted)
            .map_err(|e| ApiError::new(422, "Invalid", e))?,
        _ => wanted,
    };
    let Some(replicas) = new_scale["spec"]["replicas"].as_i64().filter(|r| *r >= 0) else {
        return Err(ApiError::invalid(
            "Scale",
            &name,
            "autoscaling",
            vec![(
                "spec.replicas".into(),
                "Invalid value: must be greater than or equal to 0".into(),
            )],
        ));
    };
    if let Some(rv) = new_scale["metadata"]["resourceVersion"].as_str()
        && Some(rv) != live["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                t.rt.plural
            ),
        ));
    }
    let mut updated = live;
    updated["spec"]["replicas"] = json!(replicas);
    let v = store.update(&t.rt, &t.namespace, &name, updated, false, opts)?;
    Ok(json_response(200, &as_scale(&v)))
}

fn selectors(
    q: &HashMap<String, String>,
    rt: &ResourceType,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(q.get("fieldSelector").map(String::as_str).unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    fields
        .supported_by(&rt.group, &rt.kind)
        .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

/// What a list request asks for: selectors, page size, namespace.
struct ListQuery<'a> {
    labels: LabelSelector,
    fields: FieldSelector,
    limit: Option<usize>,
    namespace: Option<&'a str>,
    continue_from: Option<&'a str>,
}

fn list_query<'a>(
    t: &'a Target,
    q: &'a HashMap<String, String>,
) -> Result<ListQuery<'a>, ApiError> {
    let (labels, fields) = selectors(q, &t.rt)?;
    Ok(ListQuery {
        labels,
        fields,
        limit: q
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0),
        namespace: (t.rt.namespaced && !t.namespace.is_empty()).then_some(t.namespace.as_str()),
        continue_from: q.get("continue").map(String::as_str),
    })
}

/// A list as `kubectl get` prints it (a `meta.k8s.io/v1` Table).
fn list_table(
    state: &SimState,
    t: &Target,
    q: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let lq = list_query(t, q)?;
    let store = state.store.lock().map_err(poisoned)?;
    let res = store.list(
        &t.rt,
        lq.namespace,
        &lq.labels,
        &lq.fields,
        lq.limit,
        lq.continue_from,
    )?;
    let printer = super::table_kinds::crd_columns(&store, &t.rt);
    drop(store);
    let mut meta = json!({"resourceVersion": res.rv.to_string()});
    if let Some(c) = res.continue_token {
        meta["continue"] = json!(c);
    }
    let include = super::table::Include::parse(q.get("includeObject").map(String::as_str));
    Ok(json_response(
        200,
        &super::table::table(&t.rt, &printer, &res.items, include, meta),
    ))
}

fn list(
    state: &SimState,
    t: &Target,
    q: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let lq = list_query(t, q)?;
    let store = state.store.lock().map_err(poisoned)?;
    let body = store.list_json(
        &t.rt,
        lq.namespace,
        &lq.labels,
        &lq.fields,
        lq.limit,
        lq.continue_from,
    )?;
    drop(store);
    Ok(Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .body(full(body))
        .unwrap_or_else(|_| Response::new(full(""))))
}

/// One watch event, written around the object (not copied into a new document).
fn event_line(etype: &str, obj: &Value) -> Bytes {
    let mut line = format!("{{\"type\":\"{etype}\",\"object\":").into_bytes();
    let _ = serde_json::to_writer(&mut line, obj);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

/// [`event_line`] of an object as the store keeps it, from its bytes.
fn stored_event_line(
    etype: &str,
    rt: &ResourceType,
    head: &str,
    obj: &super::store::Stored,
) -> Bytes {
    let mut line = format!("{{\"type\":\"{etype}\",\"object\":").into_bytes();
    super::store::write_served(&mut line, rt, head, obj);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    event_line(
        "BOOKMARK",
        &json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta}),
    )
}

fn start_watch(
    state: Arc<SimState>,
    t: &Target,
    q: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let (labels, mut fields) = selectors(q, &t.rt)?;
    if let Some(n) = &t.name {
        fields =
            FieldSelector::parse(&format!("metadata.name={n}")).map_err(ApiError::bad_request)?;
    }
    let ns = (t.rt.namespaced && !t.namespace.is_empty()).then(|| t.namespace.clone());
    let send_initial = q.get("sendInitialEvents").is_some_and(|v| v == "true");
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let rv_param = q.get("resourceVersion").cloned().unwrap_or_default();
    let rt = t.rt.clone();
    let matches = {
        let (labels, fields, ns) = (labels.clone(), fields.clone(), ns.clone());
        move |o: &Value| {
            ns.as_deref()
                .is_none_or(|n| o["metadata"]["namespace"].as_str() == Some(n))
                && labels.matches(o)
                && fields.matches(o)
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
    let (initial, backlog, mut live, start_rv) = {
        let store = state.store.lock().map_err(poisoned)?;
        if send_initial || rv_param.is_empty() || rv_param == "0" {
            // The current state as ADDED lines, serialized under the lock: bytes, not copies
            // of every object.
            let (refs, rv) = store.list_refs(&rt, ns.as_deref(), &labels, &fields)?;
            let head = super::store::served_head(&rt);
            let lines: Vec<Bytes> = refs
                .into_iter()
                .map(|o| stored_event_line("ADDED", &rt, &head, o))
                .collect();
            let rx = store.subscribe();
            (lines, Vec::new(), rx, rv)
        } else {
            let since: u64 = rv_param.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid resourceVersion {rv_param:?}"))
            })?;
            match store.watch_from(&rt, since) {
                Ok((backlog, rx)) => (Vec::new(), backlog, rx, since),
                Err(e) => {
                    // A watch from a compacted version gets an ERROR event, as a real server sends.
                    let line = event_line("ERROR", &e.status());
                    return Ok(Response::builder()
                        .status(200)
                        .header("Content-Type", "application/json")
                        .body(full(line))
                        .unwrap_or_else(|_| Response::new(full(""))));
                }
            }
        }
    };
    let mut restart = state.restarts.subscribe();
    tokio::spawn(async move {
        let gr = (rt.group.clone(), rt.plural.clone());
        let mut last_rv = start_rv;
        let line = |etype: &str, o: &Value| {
            if o["apiVersion"].as_str() == Some(rt.api_version().as_str()) {
                event_line(etype, o)
            } else {
                event_line(etype, &served_as(&rt, o.clone()))
            }
        };
        for l in initial {
            if tx.send(l).await.is_err() {
                return;
            }
        }
        if send_initial {
            let _ = tx.send(bookmark(&rt, start_rv, true)).await;
        }
        for ev in backlog {
            if ev.rv > last_rv && matches(&ev.object) {
                last_rv = ev.rv;
                if tx.send(line(ev.etype, &ev.object)).await.is_err() {
                    return;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        loop {
            tokio::select! {
                ev = live.recv() => match ev {
                    Ok(ev) => {
                        if ev.gr != gr || ev.rv <= last_rv {
                            continue;
                        }
                        last_rv = ev.rv;
                        if matches(&ev.object) && tx.send(line(ev.etype, &ev.object)).await.is_err() {
                            return;
                        }
                    }
                    // A slow watcher is cut off; it re-watches from its last version.
                    Err(_) => return,
                },
                _ = tick.tick() => {
                    if bookmarks && tx.send(bookmark(&rt, last_rv, false)).await.is_err() {
                        return;
                    }
                }
                _ = restart.changed() => return,
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Ok(Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .header("Transfer-Encoding", "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| Response::new(full(""))))
}

async fn logs(
    state: Arc<SimState>,
    t: &Target,
    q: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let name = t.name.clone().unwrap_or_default();
    let pod = state
        .store
        .lock()
        .map_err(poisoned)?
        .get(&t.rt, &t.namespace, &name)?;
    let container = match q.get("container") {
        Some(c) => c.clone(),
        None => {
            let cs = pod["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if cs.len() > 1 {
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    cs.iter()
                        .filter_map(|c| c["name"].as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                )));
            }
            cs.first()
                .and_then(|c| c["name"].as_str())
                .unwrap_or_default()
                .to_string()
        }
    };
    let previous = q.get("previous").is_some_and(|p| p == "true");
    let key = (
        t.namespace.clone(),
        name.clone(),
        container.clone(),
        previous,
    );
    let lines = state.logs.lock().map_err(poisoned)?.get(&key).cloned();
    let Some(lines) = lines else {
        if previous {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
        let ephemeral = pod["spec"]["ephemeralContainers"]
            .as_array()
            .is_some_and(|e| e.iter().any(|c| c["name"] == container.as_str()));
        if ephemeral {
            return Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{name}\" has no log: the simulated cluster runs no processes"
            )));
        }
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )));
    };
    let tail = q.get("tailLines").and_then(|t| t.parse::<usize>().ok());
    let start = tail.map(|t| lines.len().saturating_sub(t)).unwrap_or(0);
    let follow = q.get("follow").is_some_and(|f| f == "true");
    let first: String = lines[start..].iter().map(|l| format!("{l}\n")).collect();
    if !follow {
        return Ok(text_response(200, first));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let mut sent = lines.len();
    let st = state.clone();
    let rt = t.rt.clone();
    let ns = t.namespace.clone();
    tokio::spawn(async move {
        if tx.send(Bytes::from(first)).await.is_err() {
            return;
        }
        let mut changes = st.store.lock().map(|s| s.subscribe()).ok();
        loop {
            let more: Vec<String> = st
                .logs
                .lock()
                .ok()
                .and_then(|l| l.get(&key).map(|v| v[sent.min(v.len())..].to_vec()))
                .unwrap_or_default();
            for l in more {
                sent += 1;
                if tx.send(Bytes::from(format!("{l}\n"))).await.is_err() {
                    return;
                }
            }
            let gone = st
                .store
                .lock()
                .map(|s| s.get(&rt, &ns, &key.1).is_err())
                .unwrap_or(true);
            if gone {
                return;
            }
            match changes.as_mut() {
                Some(c) => {
                    tokio::select! {
                        _ = c.recv() => {}
                        _ = tx.closed() => return,
                    }
                }
                None => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Ok(Response::builder()
        .status(200)
        .header("Content-Type", "text/plain")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| Response::new(full(""))))
}

/// `/api/v1/namespaces/NS/{services,pods}/NAME[:PORT]/proxy/PATH`: answered by the simulated
/// workload of a ready pod behind the service, or of the named pod when its container runs.
/// What a recorded cluster refuses: every change, as a read-only API server refuses a
/// user without the verb (403), and the service proxy, as a service without ready endpoints
/// answers (503): nothing runs in a recording.
fn recorded_refusal(r: &crate::Recorded, verb: &str, t: &Target) -> Result<(), ApiError> {
    let what = match &t.name {
        Some(n) => format!("{} {n:?}", t.rt.plural),
        None => t.rt.plural.clone(),
    };
    // The kubelets' summaries were recorded: they read as they were then.
    let recorded_summary = t.rt.kind == "Node"
        && verb == "get"
        && t.rest.trim_end_matches('/') == "stats/summary"
        && t.name
            .as_ref()
            .is_some_and(|n| r.node_stats.contains_key(n));
    if t.sub.as_deref() == Some("proxy") && !recorded_summary {
        return Err(ApiError::new(
            503,
            "ServiceUnavailable",
            format!(
                "no endpoints available for {what}: this cluster is {}, served read-only, and nothing runs in it",
                r.source
            ),
        ));
    }
    if matches!(verb, "get" | "list" | "watch") {
        return Ok(());
    }
    let mut e = ApiError::new(
        403,
        "Forbidden",
        format!(
            "{what} is forbidden: this cluster is {}, served read-only: it cannot {verb} anything",
            r.source
        ),
    );
    e.details = json!({"name": t.name.clone().unwrap_or_default(), "group": t.rt.group, "kind": t.rt.plural});
    Err(e)
}

async fn proxy(
    state: Arc<SimState>,
    t: &Target,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let raw_name = t.name.clone().unwrap_or_default();
    let (name, port) = raw_name
        .split_once(':')
        .map(|(a, b)| (a.to_string(), Some(b.to_string())))
        .unwrap_or((raw_name.clone(), None));
    let method = req.method().to_string();
    let query_string = req.uri().query().unwrap_or("").to_string();
    let path = format!("/{}", t.rest);
    let (_, body) = read_body(req).await?;
    if t.rt.kind == "Node" {
        return node_proxy(&state, &name, &path, &method);
    }
    let (pod, port) = {
        let store = state.store.lock().map_err(poisoned)?;
        if t.rt.kind == "Service" {
            let svc = store.get(&t.rt, &t.namespace, &name)?;
            let target = target_port(&svc, port.as_deref());
            let pod = super::workload::ready_pod_behind(&store, &svc).ok_or_else(|| {
                ApiError::new(
                    503,
                    "ServiceUnavailable",
                    format!("no endpoints available for service \"{name}\""),
                )
            })?;
            (pod, target)
        } else {
            let pods = (String::new(), "pods".to_string());
            let pod = store
                .get_gr(&pods, &t.namespace, &name)
                .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
            (pod, port)
        }
    };
    // Nothing listens where the serving container is not running (a crash loop, an image
    // that never pulled) or runs a program that serves no HTTP: the API server's dial fails.
    let refused = || {
        let ip = pod["status"]["podIP"].as_str().unwrap_or("10.244.0.1");
        let port = port.as_deref().unwrap_or("80");
        ApiError::new(
            503,
            "ServiceUnavailable",
            format!(
                "error trying to reach service: dial tcp {ip}:{port}: connect: connection refused"
            ),
        )
    };
    if !super::workload::serving(&pod, port.as_deref()) {
        return Err(refused());
    }
    let reply = super::workload::answer_pod(
        &state,
        &pod,
        port.as_deref(),
        method,
        path,
        query_string,
        body,
        None,
    )
    .ok_or_else(refused)?;
    tokio::time::sleep(reply.wait).await;
    Ok(Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK))
        .header("Content-Type", reply.content_type)
        .body(full(reply.body))
        .unwrap_or_else(|_| Response::new(full(""))))
}

/// `/api/v1/nodes/NODE/proxy/PATH`: the node's kubelet. It serves its Summary API
/// (`stats/summary`, `volumes`) and answers anything else as the kubelet's mux does, 404.
fn node_proxy(
    state: &SimState,
    node: &str,
    path: &str,
    method: &str,
) -> Result<Response<Body>, ApiError> {
    if let Some(r) = &state.options.recorded
        && method == "GET"
        && path.trim_end_matches('/') == "/stats/summary"
        && let Some(summary) = r.node_stats.get(node)
    {
        return Ok(Response::builder()
            .status(200)
            .header("Content-Type", "application/json")
            .body(full(summary.to_string()))
            .unwrap_or_else(|_| Response::new(full(""))));
    }
    let store = state.store.lock().map_err(poisoned)?;
    if !store.has(&(String::new(), "nodes".to_string()), "", node) {
        return Err(ApiError::not_found("", "nodes", node));
    }
    let (status, content_type, body) = match (method, path.trim_end_matches('/')) {
        ("GET", "/stats/summary") => (
            200,
            "application/json",
            super::volumes::summary(state, &store, node)?.to_string(),
        ),
        ("GET", "/healthz") => (200, "text/plain; charset=utf-8", "ok".to_string()),
        _ => (
            404,
            "text/plain; charset=utf-8",
            "404 page not found\n".to_string(),
        ),
    };
    drop(store);
    Ok(Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .body(full(body))
        .unwrap_or_else(|_| Response::new(full(""))))
}

/// The pod port a Service's port (by name or number; the first when none is named) forwards
/// to: its `targetPort`, else the port itself.
fn target_port(svc: &Value, port: Option<&str>) -> Option<String> {
    let ports = svc["spec"]["ports"].as_array()?;
    let p = match port {
        Some(want) => ports.iter().find(|p| {
            p["name"].as_str() == Some(want)
                || p["port"].as_u64().map(|n| n.to_string()).as_deref() == Some(want)
        })?,
        None => ports.first()?,
    };
    let t = if p["targetPort"].is_null() {
        &p["port"]
    } else {
        &p["targetPort"]
    };
    t.as_str()
        .map(str::to_string)
        .or_else(|| t.as_u64().map(|n| n.to_string()))
}

/// `exec`, `attach` and `portforward`: the SPDY/3.1 upgrade kubectl asks for, then the
/// connection is `streaming`'s. A WebSocket upgrade is refused, and kubectl falls back to SPDY.
async fn stream_upgrade(
    state: Arc<SimState>,
    t: &Target,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let sub = t.sub.clone().unwrap_or_default();
    let name = t.name.clone().unwrap_or_default();
    let pod = {
        let store = state.store.lock().map_err(poisoned)?;
        store.get(&t.rt, &t.namespace, &name)?
    };
    let header = |h: &str| -> Vec<String> {
        req.headers()
            .get_all(h)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    };
    let upgrade = header("upgrade").join(",").to_ascii_lowercase();
    let ws_protocols = header("sec-websocket-protocol").join(",");
    if upgrade.contains("websocket")
        && sub == "portforward"
        && super::websocket::offers_portforward(&ws_protocols)
    {
        return websocket_portforward(state, t, req);
    }
    if upgrade.contains("websocket") {
        return Err(ApiError::bad_request(
            "the simulated cluster speaks SPDY/3.1 for exec, attach and port-forward, not WebSocket",
        ));
    }
    if !upgrade.contains("spdy/3.1") {
        return Err(ApiError::bad_request("Upgrade request required"));
    }
    let offered = header("x-stream-protocol-version");
    let Some(protocol) = super::streaming::negotiate(&sub, &offered) else {
        return Err(ApiError::new(
            403,
            "Forbidden",
            format!("unable to upgrade: unable to negotiate protocol: client supports {offered:?}"),
        ));
    };
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let params: Vec<(String, String)> = raw_query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let session = if sub == "portforward" {
        super::streaming::Session::PortForward {
            namespace: t.namespace.clone(),
            pod: name.clone(),
        }
    } else {
        let first = pod["spec"]["containers"][0]["name"].as_str().unwrap_or("");
        let container = params
            .iter()
            .find(|(k, _)| k == "container")
            .map_or(first.to_string(), |(_, v)| v.clone());
        let known = ["containers", "initContainers", "ephemeralContainers"]
            .iter()
            .flat_map(|list| pod["spec"][*list].as_array().into_iter().flatten())
            .any(|c| c["name"] == container.as_str());
        if !known {
            return Err(ApiError::bad_request(format!(
                "container {container} is not valid for pod {name}"
            )));
        }
        let command: Vec<String> = params
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.clone())
            .collect();
        super::streaming::Session::Refused(super::streaming::refusal(&sub, &container, &command))
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            super::streaming::serve(hyper_util::rt::TokioIo::new(upgraded), state, session).await;
        }
    });
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("Connection", "Upgrade")
        .header("Upgrade", "SPDY/3.1")
        .header("X-Stream-Protocol-Version", protocol)
        .body(full(""))
        .unwrap_or_else(|_| Response::new(full(""))))
}

/// Port-forward over WebSocket (kube-rs): the ports asked for, then the channels.
fn websocket_portforward(
    state: Arc<SimState>,
    t: &Target,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let key = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|k| k.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("missing Sec-WebSocket-Key"))?;
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let ports: Vec<u16> = raw_query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "ports")
        .flat_map(|(_, v)| {
            decode(v)
                .split(',')
                .map(|p| p.trim().parse::<u16>())
                .collect::<Vec<_>>()
        })
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::bad_request("invalid port in ports: ports must be 1-65535"))?;
    if ports.is_empty() || ports.contains(&0) {
        return Err(ApiError::bad_request(
            "query parameter \"port\" is required",
        ));
    }
    let (namespace, pod) = (t.namespace.clone(), t.name.clone().unwrap_or_default());
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            super::websocket::serve_portforward(
                hyper_util::rt::TokioIo::new(upgraded),
                state,
                namespace,
                pod,
                ports,
            )
            .await;
        }
    });
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Accept", super::websocket::accept_key(&key))
        .header(
            "Sec-WebSocket-Protocol",
            super::websocket::PORTFORWARD_PROTOCOL,
        )
        .body(full(""))
        .unwrap_or_else(|_| Response::new(full(""))))
}

/// `pods/NAME/ephemeralcontainers` (`kubectl debug`): the pod, or the pod with ephemeral
/// containers added, the only change this subresource allows.
async fn ephemeral_containers(
    state: &SimState,
    t: &Target,
    req: Request<Incoming>,
    q: &HashMap<String, String>,
    method: Method,
) -> Result<Response<Body>, ApiError> {
    let name = t.name.clone().unwrap_or_default();
    let kind = if method == Method::PATCH {
        "PatchOptions"
    } else {
        "UpdateOptions"
    };
    let opts = write_opts(q, kind)?;
    let (ct, body) = read_body(req).await?;
    let mut store = state.store.lock().map_err(poisoned)?;
    let old = store.get(&t.rt, &t.namespace, &name)?;
    if method == Method::GET {
        return Ok(json_response(200, &old));
    }
    let wanted = if method == Method::PUT {
        parse_body(&t.rt, &ct, &body)?
    } else {
        let p: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid patch: {e}")))?;
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/json-patch+json" => {
                super::patch::json_patch(&old, &p).map_err(|e| ApiError::new(422, "Invalid", e))?
            }
            "application/merge-patch+json" => super::patch::merge_patch(&old, &p),
            _ => super::patch::strategic_merge(&old, &p).map_err(ApiError::bad_request)?,
        }
    };
    let after = wanted["spec"]["ephemeralContainers"].clone();
    for c in old["spec"]["ephemeralContainers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if !after.as_array().is_some_and(|a| a.contains(c)) {
            return Err(ApiError::invalid(
                "Pod",
                &name,
                "",
                vec![(
                    "spec.ephemeralContainers".into(),
                    format!(
                        "Forbidden: existing ephemeral containers {} may not be changed",
                        c["name"]
                    ),
                )],
            ));
        }
    }
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = after;
    let v = store.update(&t.rt, &t.namespace, &name, new, false, &opts)?;
    Ok(json_response(200, &v))
}

/// `serviceaccounts/NAME/token` (`kubectl create token`): a token for the account, a JWT with
/// the claims a real one carries, for the lifetime asked (an hour by default). The simulated
/// cluster signs nothing, and its signature part says so.
async fn token_request(
    state: &SimState,
    t: &Target,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    use base64::Engine;
    let name = t.name.clone().unwrap_or_default();
    let (ct, body) = read_body(req).await?;
    let mut tr = if ct.contains("protobuf") {
        super::proto::decode(&body)
            .map_err(|e| ApiError::bad_request(format!("cannot decode protobuf body: {e}")))?
    } else {
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid TokenRequest: {e}")))?
    };
    let sa = {
        let store = state.store.lock().map_err(poisoned)?;
        store.get(&t.rt, &t.namespace, &name)?
    };
    let seconds = tr["spec"]["expirationSeconds"].as_u64().unwrap_or(3600);
    if seconds < 600 {
        return Err(ApiError::invalid(
            "TokenRequest",
            &name,
            "authentication.k8s.io",
            vec![(
                "spec.expirationSeconds".into(),
                format!(
                    "Invalid value: {seconds}: may not specify a duration less than 10 minutes"
                ),
            )],
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let audiences = match tr["spec"]["audiences"].as_array() {
        Some(a) if !a.is_empty() => Value::Array(a.clone()),
        _ => json!(["https://kubernetes.default.svc.cluster.local"]),
    };
    let claims = json!({
        "aud": audiences, "exp": now + seconds, "iat": now, "nbf": now,
        "iss": "https://kubernetes.default.svc.cluster.local",
        "sub": format!("system:serviceaccount:{}:{name}", t.namespace),
        "kubernetes.io": {"namespace": t.namespace,
                          "serviceaccount": {"name": name, "uid": sa["metadata"]["uid"]}},
    });
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!(
        "{}.{}.{}",
        b64.encode(br#"{"alg":"RS256","kid":"helmdeck-sim"}"#),
        b64.encode(claims.to_string()),
        b64.encode("unsigned: the simulated cluster signs nothing"),
    );
    tr["apiVersion"] = json!("authentication.k8s.io/v1");
    tr["kind"] = json!("TokenRequest");
    tr["metadata"]["name"] = json!(name);
    tr["metadata"]["namespace"] = json!(t.namespace);
    tr["spec"]["audiences"] = audiences;
    tr["spec"]["expirationSeconds"] = json!(seconds);
    tr["status"] =
        json!({"token": token, "expirationTimestamp": super::store::rfc3339(now + seconds)});
    Ok(json_response(201, &tr))
}
