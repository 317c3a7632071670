//! Inference ahead of the policy: frames handed to worker threads (one per session of the
//! engine) as soon as they are prepared, their outputs waiting in slots until the policy asks
//! for them through `host-pose.infer`. While the policy decodes one batch, the next is already
//! being inferred.

use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{PoseEngine, PreparedFrame, Tensor};

/// One frame's output, once inferred, and the time it took.
type Outcome = (Result<Tensor, String>, Duration);

/// A frame sent to the workers, and where its output goes.
type Job = (PreparedFrame, std::sync::mpsc::Sender<Outcome>);

/// Where a frame's output arrives; taken once.
pub(crate) struct Slot(Mutex<Option<Receiver<Outcome>>>);

impl Slot {
    /// Waits for the output (a frame's output is given once).
    pub(crate) fn take(&self) -> Outcome {
        let receiver = self.0.lock().ok().and_then(|mut slot| slot.take());
        match receiver {
            Some(receiver) => receiver
                .recv()
                .unwrap_or_else(|_| (Err("inference stopped".to_string()), Duration::ZERO)),
            None => (
                Err("this frame's output was already given".to_string()),
                Duration::ZERO,
            ),
        }
    }
}

/// The queue the workers take frames from.
pub(crate) struct Ahead {
    jobs: SyncSender<Job>,
}

impl Ahead {
    /// Starts one worker per session of `engine` in `scope`; they end when the `Ahead` is
    /// dropped and the queue is empty.
    pub(crate) fn start<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        engine: &'scope Arc<PoseEngine>,
        queue: usize,
    ) -> Self {
        let (jobs, queue_rx) = sync_channel::<Job>(queue);
        let queue_rx = Arc::new(Mutex::new(queue_rx));
        for _ in 0..engine.parallel() {
            let queue_rx = Arc::clone(&queue_rx);
            scope.spawn(move || {
                loop {
                    let job = match queue_rx.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok((frame, done)) = job else { return };
                    let started = Instant::now();
                    let output = engine.infer(&frame);
                    let _ = done.send((output, started.elapsed()));
                }
            });
        }
        Self { jobs }
    }

    /// Queues `frame` for inference (waiting while the queue is full); the slot its output
    /// arrives in, and the frame's geometry (its input moved to the workers).
    pub(crate) fn submit(&self, frame: PreparedFrame) -> (Slot, PreparedFrame) {
        let geometry = frame.clone_geometry();
        let (done, output) = channel();
        // Without a worker left, the slot reports that inference stopped.
        let _ = self.jobs.send((frame, done));
        (Slot(Mutex::new(Some(output))), geometry)
    }
}

impl PreparedFrame {
    /// The frame's size, scale and padding, without its input.
    fn clone_geometry(&self) -> PreparedFrame {
        PreparedFrame {
            width: self.width,
            height: self.height,
            scale: self.scale,
            pad_x: self.pad_x,
            pad_y: self.pad_y,
            input: Vec::new(),
        }
    }
}
