//! How many heap bytes the operator's caches hold per object: reads a
//! `kubectl get -o json` list, parses its items as the cache would keep them
//! (trimmed, each in an `Arc`) and prints the bytes and allocations they hold.
//! `cargo run --release --example heap_of_cache -- appaccounts FILE`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static BYTES: AtomicIsize = AtomicIsize::new(0);
static ALLOCS: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        ALLOCS.fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn held<K: serde::de::DeserializeOwned + rolecall::api::cache_trim::CacheTrim>(items: Vec<serde_json::Value>) -> (usize, isize, isize) {
    let n = items.len();
    let texts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    drop(items);
    let (b0, a0) = (BYTES.load(Ordering::Relaxed), ALLOCS.load(Ordering::Relaxed));
    let mut kept: Vec<Arc<K>> = Vec::with_capacity(n);
    for text in &texts {
        let mut obj: K = serde_json::from_str(text).expect("an object");
        obj.trim_for_cache();
        kept.push(Arc::new(obj));
    }
    // The texts are still held: what was added is the objects.
    let (b1, a1) = (BYTES.load(Ordering::Relaxed), ALLOCS.load(Ordering::Relaxed));
    let out = (n, b1 - b0, a1 - a0);
    drop(kept);
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (kind, path) = (args[1].as_str(), &args[2]);
    let list: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("json");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    drop(list);
    let (n, bytes, allocs) = match kind {
        "appaccounts" => held::<rolecall::api::app_account::AppAccount>(items),
        "users" => held::<rolecall::api::User>(items),
        other => panic!("unknown kind {other}"),
    };
    println!(
        "{kind}: {n} objects hold {bytes} bytes in {allocs} allocations: {:.0} bytes and {:.1} allocations each; size_of AppAccount {}, User {}",
        bytes as f64 / n as f64,
        allocs as f64 / n as f64,
        std::mem::size_of::<rolecall::api::app_account::AppAccount>(),
        std::mem::size_of::<rolecall::api::User>()
    );
}
