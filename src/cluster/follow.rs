//! Follows one kind of object: a full list, then a watch from where the list ended, listing
//! again only when the server no longer has that history. kube-rs's watcher does the same,
//! but asks for each page only after decoding the one before and hands every object to its
//! store as a copy. Here the next page is asked for as soon as this page's continue token is
//! read, so the server writes one page while this side decodes the last, and the objects move
//! into the cache. At 100,000 pods that was most of `check --pods -A`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use kube::api::{Api, ListParams, VersionMatch, WatchEvent, WatchParams};
use kube::{Resource, ResourceExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;

type Objects<K> = HashMap<(String, String), Arc<K>>;

/// One kind's objects as last seen, by namespace and name. Cloning shares it.
pub struct Cache<K> {
    objects: Arc<RwLock<Objects<K>>>,
}

impl<K> Clone for Cache<K> {
    fn clone(&self) -> Self {
        Cache {
            objects: self.objects.clone(),
        }
    }
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache {
            objects: Arc::default(),
        }
    }
}

fn key<K: Resource>(o: &K) -> (String, String) {
    let m = o.meta();
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

impl<K: Resource> Cache<K> {
    /// Every object, in no order.
    pub fn state(&self) -> Vec<Arc<K>> {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        objects.values().cloned().collect()
    }

    fn replace(&self, fresh: Objects<K>) {
        let old = std::mem::replace(
            &mut *self.objects.write().unwrap_or_else(|e| e.into_inner()),
            fresh,
        );
        // Freed outside the lock.
        drop(old);
    }

    fn apply(&self, o: K) {
        let k = key(&o);
        let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
        objects.insert(k, Arc::new(o));
    }

    fn remove(&self, o: &K) {
        let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
        objects.remove(&key(o));
    }
}

/// What happened while following, for whoever reports the connection's state.
pub enum Progress {
    /// A full list landed in the cache.
    Listed,
    /// The server answered a watch request: the cache is current again.
    Watching,
    /// An object changed.
    Changed,
    /// A request failed; it is retried after a pause.
    Failed(String),
}

/// How a followed kind is asked for.
pub struct Follow<K> {
    pub api: Api<K>,
    /// Objects per page.
    pub page: u32,
    /// Seconds each watch request lasts.
    pub window: u32,
    /// Applied to each object before it is kept (drops what nothing reads).
    pub trim: fn(&mut K),
}

/// Pauses between failed requests: quick at first, so a cluster that comes back is seen
/// within seconds, capped low.
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(2);

    async fn pause(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Self::MAX);
    }

    fn reset(&mut self) {
        self.0 = Self::FIRST;
    }
}

fn gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 410)
}

impl<K> Follow<K>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    /// Keeps `cache` current until the future is dropped, telling `progress` how it goes.
    pub async fn run(self, cache: Cache<K>, mut progress: impl FnMut(Progress)) {
        let mut backoff = Backoff(Backoff::FIRST);
        loop {
            let mut rv = match self.list().await {
                Ok((items, rv)) => {
                    cache.replace(items);
                    backoff.reset();
                    progress(Progress::Listed);
                    rv
                }
                Err(e) => {
                    progress(Progress::Failed(e.to_string()));
                    backoff.pause().await;
                    continue;
                }
            };
            // Watch from the list's version until the server has forgotten it.
            loop {
                match self
                    .watch(&cache, &mut rv, &mut progress, &mut backoff)
                    .await
                {
                    Ok(()) => {}
                    Err(e) if gone(&e) => break,
                    Err(e) => {
                        progress(Progress::Failed(e.to_string()));
                        backoff.pause().await;
                    }
                }
            }
        }
    }

    /// One watch request, to its end. Err(410) when the history is gone.
    async fn watch(
        &self,
        cache: &Cache<K>,
        rv: &mut String,
        progress: &mut impl FnMut(Progress),
        backoff: &mut Backoff,
    ) -> Result<(), kube::Error> {
        let wp = WatchParams::default().timeout(self.window);
        let stream = self.api.watch(&wp, rv).await?;
        progress(Progress::Watching);
        backoff.reset();
        let mut stream = std::pin::pin!(stream);
        // A connection that dies silently ends no stream: give up on one quiet for longer
        // than its window.
        let idle = Duration::from_secs(self.window.into()) + crate::deadlines::request_timeout();
        loop {
            let ev = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(ev)) => ev?,
                Ok(None) | Err(_) => return Ok(()),
            };
            match ev {
                WatchEvent::Added(mut o) | WatchEvent::Modified(mut o) => {
                    if let Some(v) = o.resource_version() {
                        *rv = v;
                    }
                    tidy(&mut o, self.trim);
                    cache.apply(o);
                    progress(Progress::Changed);
                }
                WatchEvent::Deleted(o) => {
                    if let Some(v) = o.resource_version() {
                        *rv = v;
                    }
                    cache.remove(&o);
                    progress(Progress::Changed);
                }
                WatchEvent::Bookmark(b) => *rv = b.metadata.resource_version,
                WatchEvent::Error(e) => return Err(kube::Error::Api(e)),
            }
        }
    }

    /// Every object, page by page, with the list's resource version. A page is asked for as
    /// soon as the one before it arrives, and decoded on a thread of its own while the next
    /// one comes: the server writing, and two pages being decoded, keep two cores busy.
    async fn list(&self) -> Result<(Objects<K>, String), kube::Error> {
        let first = ListParams {
            // Any recent state will do (the watch that follows catches up), as kube-rs's
            // watcher asks by default: the API server may answer from its cache.
            resource_version: Some("0".into()),
            version_match: Some(VersionMatch::NotOlderThan),
            limit: Some(self.page),
            ..Default::default()
        };
        let mut next = Some(Fetch::start(self, &first)?);
        let mut decoding = std::collections::VecDeque::new();
        let mut items = Objects::default();
        let mut rv = String::new();
        while let Some(fetch) = next.take() {
            let text = fetch.text().await?;
            match peek_continue(&text) {
                Some(token) => {
                    if let Some(token) = token {
                        next = Some(Fetch::start(self, &self.after(&token))?);
                    }
                    decoding.push_back(Decode::start(text, self.trim));
                    // Two in hand at most: one decoding while the next one arrives.
                    if decoding.len() > 1
                        && let Some(d) = decoding.pop_front()
                    {
                        rv = d.into(&mut items).await?;
                    }
                }
                // No token up front: the page is decoded before the next is asked for.
                None => {
                    while let Some(d) = decoding.pop_front() {
                        d.into(&mut items).await?;
                    }
                    let (page, token) = decode(&text, self.trim)?;
                    if let Some(token) = token {
                        next = Some(Fetch::start(self, &self.after(&token))?);
                    }
                    rv = page.keep(&mut items);
                }
            }
        }
        while let Some(d) = decoding.pop_front() {
            rv = d.into(&mut items).await?;
        }
        Ok((items, rv))
    }

    fn after(&self, token: &str) -> ListParams {
        ListParams {
            limit: Some(self.page),
            continue_token: Some(token.to_string()),
            ..Default::default()
        }
    }
}

/// managedFields are most of an object's bytes and nothing here reads them.
fn tidy<K: Resource>(o: &mut K, trim: fn(&mut K)) {
    o.meta_mut().managed_fields = None;
    trim(o);
}

/// One page decoded, with its continue token.
fn decode<K: Resource + DeserializeOwned>(
    text: &str,
    trim: fn(&mut K),
) -> Result<(Decoded<K>, Option<String>), kube::Error> {
    let page: Page<K> = serde_json::from_str(text).map_err(kube::Error::SerdeError)?;
    let token = page.metadata.continue_.filter(|t| !t.is_empty());
    let mut items = page.items.unwrap_or_default();
    items.iter_mut().for_each(|o| tidy(o, trim));
    let decoded = Decoded {
        items,
        rv: page.metadata.resource_version.unwrap_or_default(),
        left: page.metadata.remaining_item_count,
    };
    Ok((decoded, token))
}

/// A decoded page's objects, its resource version and how many objects follow it.
struct Decoded<K> {
    items: Vec<K>,
    rv: String,
    left: Option<i64>,
}

impl<K: Resource> Decoded<K> {
    /// Moves the objects into `into`; the page's resource version.
    fn keep(self, into: &mut Objects<K>) -> String {
        if let Some(left) = self.left {
            into.reserve(usize::try_from(left).unwrap_or(0) + self.items.len());
        }
        for o in self.items {
            into.insert(key(&o), Arc::new(o));
        }
        self.rv
    }
}

/// A page being decoded on a blocking thread.
struct Decode<K>(tokio::task::JoinHandle<Result<Decoded<K>, kube::Error>>);

impl<K: Resource + DeserializeOwned + Send + 'static> Decode<K> {
    fn start(text: String, trim: fn(&mut K)) -> Decode<K> {
        Decode(tokio::task::spawn_blocking(move || {
            decode(&text, trim).map(|(d, _)| d)
        }))
    }

    async fn into(mut self, items: &mut Objects<K>) -> Result<String, kube::Error> {
        match (&mut self.0).await {
            Ok(d) => Ok(d?.keep(items)),
            Err(e) => Err(kube::Error::Service(e.into())),
        }
    }
}

/// A page request running on its own task; dropping it stops the request.
struct Fetch(tokio::task::JoinHandle<Result<String, kube::Error>>);

impl Fetch {
    fn start<K: Resource + Clone>(f: &Follow<K>, lp: &ListParams) -> Result<Fetch, kube::Error> {
        let mut req = kube::core::Request::new(f.api.resource_url())
            .list(lp)
            .map_err(kube::Error::BuildRequest)?;
        req.extensions_mut().insert("list");
        let client = f.api.clone().into_client();
        Ok(Fetch(tokio::spawn(async move {
            client.request_text(req).await
        })))
    }

    async fn text(mut self) -> Result<String, kube::Error> {
        match (&mut self.0).await {
            Ok(r) => r,
            Err(e) => Err(kube::Error::Service(e.into())),
        }
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Deserialize)]
#[serde(bound = "K: DeserializeOwned")]
struct Page<K> {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Option<Vec<K>>,
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    metadata: ListMeta,
}

/// The page's continue token, read from what precedes its items without decoding them:
/// Some(None) on the last page, None when the list's metadata does not come first (then the
/// whole page is decoded before the next is asked for).
fn peek_continue(text: &str) -> Option<Option<String>> {
    let at = text.find("\"items\":")?;
    let head = text[..at].trim_end().strip_suffix(',')?;
    let head: Head = serde_json::from_str(&format!("{head}}}")).ok()?;
    Some(head.metadata.continue_.filter(|t| !t.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_continue_token_is_read_from_the_head_alone() {
        let page = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"abc","remainingItemCount":3},"items":[{"metadata":{"name":"a"}}]}"#;
        assert_eq!(peek_continue(page), Some(Some("abc".into())));
        let last =
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}"#;
        assert_eq!(peek_continue(last), Some(None));
        // Items first: nothing is guessed, the page is decoded whole.
        let odd = r#"{"items":[],"metadata":{"continue":"abc"}}"#;
        assert_eq!(peek_continue(odd), None);
        assert_eq!(peek_continue("not json"), None);
    }
}
