//! The idle sweep: a listener's periodic call to its plain HTTP/1 connections that are
//! waiting for a request, so they let their buffers go (the codec) or leave hyper.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Waker};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// A listener's sweep: a tick count and the `Notify` that wakes whoever waits for a tick.
#[derive(Debug, Default)]
pub(crate) struct IdleSweep {
    notify: Notify,
    /// Ticks so far; raised before the waiters are woken, so a woken task sees it moved.
    epoch: AtomicU64,
}

impl IdleSweep {
    /// One tick: every registered waiter is woken.
    pub(crate) fn tick(&self) {
        self.epoch.fetch_add(1, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Ticks so far.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Completes at the first tick after this call (once polled).
    pub(crate) fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }
}

/// One connection's registration with the sweep, kept across its requests.
///
/// Joining a `Notify`'s waiters takes its lock, and so does leaving them: a connection that
/// registered for every wait and left when its next request came first paid both on every
/// request (about 230 instructions, two lock round trips). This one stays registered
/// instead. The epoch tells a wait whether a tick came since the wait began, and the
/// registration is renewed only after a tick fired it or when the task's waker changed. A
/// busy connection is woken at most once per tick for nothing.
pub(crate) struct SweepWatch<'a, 'p> {
    sweep: &'a IdleSweep,
    notified: Pin<&'p mut Notified<'a>>,
    /// The epoch and the waker the registration was made with.
    armed: Option<(u64, Waker)>,
}

impl<'a, 'p> SweepWatch<'a, 'p> {
    /// A watch over `sweep`, with `notified` (any future of `sweep.notified()`, pinned by the
    /// caller) as the place of its registration.
    pub(crate) fn new(sweep: &'a IdleSweep, notified: Pin<&'p mut Notified<'a>>) -> Self {
        SweepWatch {
            sweep,
            notified,
            armed: None,
        }
    }

    /// The current epoch: what a wait compares with.
    pub(crate) fn epoch(&self) -> u64 {
        self.sweep.epoch()
    }

    /// Whether a tick came after epoch `since`; if not, makes sure the task of `cx` is woken
    /// by the next one.
    pub(crate) fn poll_swept(&mut self, since: u64, cx: &mut Context<'_>) -> bool {
        let now = self.sweep.epoch();
        if now != since {
            return true;
        }
        if let Some((at, waker)) = &self.armed {
            if *at == now && waker.will_wake(cx.waker()) {
                return false;
            }
        }
        // A new future, polled once, joins the waiters with this task's waker.
        self.notified.set(self.sweep.notified());
        if self.notified.as_mut().poll(cx).is_ready() {
            // A tick came between reading the epoch and joining.
            self.armed = None;
            return true;
        }
        self.armed = Some((now, cx.waker().clone()));
        false
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(Default::default()));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn a_tick_wakes_a_registered_watch_and_is_seen_by_its_wait() {
        let sweep = IdleSweep::default();
        let mut notified = pin!(sweep.notified());
        let mut watch = SweepWatch::new(&sweep, notified.as_mut());
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let since = watch.epoch();
        assert!(!watch.poll_swept(since, &mut cx));
        // Polled again with the same waker: still registered, nothing new.
        assert!(!watch.poll_swept(since, &mut cx));
        sweep.tick();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(watch.poll_swept(since, &mut cx));
    }

    #[test]
    fn a_tick_while_busy_is_not_a_sweep_of_the_next_wait_but_rearms() {
        let sweep = IdleSweep::default();
        let mut notified = pin!(sweep.notified());
        let mut watch = SweepWatch::new(&sweep, notified.as_mut());
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(!watch.poll_swept(watch.epoch(), &mut cx));
        // The request came; the connection is busy when the tick comes.
        sweep.tick();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // The next wait begins after the tick: not swept, and registered again.
        let since = watch.epoch();
        assert!(!watch.poll_swept(since, &mut cx));
        sweep.tick();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(watch.poll_swept(since, &mut cx));
    }

    #[test]
    fn a_new_waker_is_registered() {
        let sweep = IdleSweep::default();
        let mut notified = pin!(sweep.notified());
        let mut watch = SweepWatch::new(&sweep, notified.as_mut());
        let (first, w1) = counting_waker();
        let (second, w2) = counting_waker();
        let since = watch.epoch();
        assert!(!watch.poll_swept(since, &mut Context::from_waker(&w1)));
        assert!(!watch.poll_swept(since, &mut Context::from_waker(&w2)));
        sweep.tick();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }
}
