//! The manual runtime itself: tasks run only when stepped, sleeps end
//! exactly at their deadline, and `advance` stops at every deadline on the
//! way. The timer tests of the core rely on these.
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketio::Runtime;
use support::ManualRuntime;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn spawned_tasks_run_only_when_the_runtime_is_stepped() {
    let rt = ManualRuntime::new();
    let ran = Arc::new(Mutex::new(false));
    let r = ran.clone();
    rt.spawn(Box::pin(async move { *r.lock().unwrap() = true }));
    assert!(!*ran.lock().unwrap());
    assert_eq!(rt.run_until_idle(), 1);
    assert!(*ran.lock().unwrap());
    assert_eq!(
        rt.run_until_idle(),
        0,
        "a finished task is not polled again"
    );
}

#[test]
fn a_sleep_ends_at_its_deadline_and_not_before() {
    let rt = ManualRuntime::new();
    let woke = Arc::new(Mutex::new(None));
    let (w, r) = (woke.clone(), rt.clone());
    rt.spawn(Box::pin(async move {
        r.sleep(ms(100)).await;
        *w.lock().unwrap() = Some(r.elapsed());
    }));
    rt.run_until_idle();
    assert_eq!(rt.next_timer(), Some(ms(100)));
    rt.advance(ms(100) - Duration::from_nanos(1));
    assert_eq!(*woke.lock().unwrap(), None, "woke before its deadline");
    rt.advance(Duration::from_nanos(1));
    assert_eq!(*woke.lock().unwrap(), Some(ms(100)));
    assert_eq!(rt.next_timer(), None);
}

#[test]
fn advance_stops_at_each_deadline_on_the_way() {
    let rt = ManualRuntime::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s, r) = (seen.clone(), rt.clone());
    rt.spawn(Box::pin(async move {
        for step in [30, 20, 50] {
            r.sleep(ms(step)).await;
            s.lock().unwrap().push(r.elapsed());
        }
    }));
    rt.advance(ms(1000));
    assert_eq!(*seen.lock().unwrap(), [ms(30), ms(50), ms(100)]);
    assert_eq!(rt.elapsed(), ms(1000));
}

#[test]
fn a_dropped_sleep_leaves_no_timer() {
    let rt = ManualRuntime::new();
    let r = rt.clone();
    rt.spawn(Box::pin(async move {
        let long = r.sleep(ms(500));
        let short = r.sleep(ms(10));
        futures_util::future::select(long, short).await;
    }));
    rt.advance(ms(10));
    assert_eq!(rt.next_timer(), None, "the long sleep was dropped");
}
