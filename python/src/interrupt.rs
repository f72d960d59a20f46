//! Long work with the GIL released, and Ctrl-C (KeyboardInterrupt) still heard.
//!
//! The work runs on a scoped thread while the calling thread, detached from the
//! interpreter, waits for it and every 100 ms asks Python whether a signal arrived
//! (only the main thread can be told). On an interrupt the work is asked to stop (the
//! flag it polls); once it has, the interrupt is raised. No signal handler is installed:
//! Python's own stay in place.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use pyo3::prelude::*;

/// Run `work` without the GIL; it should return soon after the flag it is given is set.
pub fn run<T: Send>(py: Python<'_>, work: impl FnOnce(&AtomicBool) -> T + Send) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    let (out, interrupted) = py.detach(|| {
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel::<()>();
            let cancel = &cancel;
            let worker = s.spawn(move || {
                let r = work(cancel);
                let _ = tx.send(());
                r
            });
            let mut interrupted: Option<PyErr> = None;
            // Until the work is done (or its thread died: the sender is dropped).
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(Duration::from_millis(100))
            {
                if interrupted.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        cancel.store(true, Ordering::Relaxed);
                        interrupted = Some(e);
                    }
                }
            }
            match worker.join() {
                Ok(out) => (out, interrupted),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    });
    match interrupted {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// True once an interrupt asked the work to stop.
pub fn cancelled(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}
