//! The monitor of a long-running process: opened on first use, opened again on the next use
//! after a failure (the database was down), shared by every caller.

use std::sync::{Arc, Mutex, PoisonError};

use super::Monitor;
use crate::types::config::MonitorSettings;
use crate::types::error::Error;

/// A monitor opened when first needed.
#[derive(Debug)]
pub struct MonitorSlot {
    settings: MonitorSettings,
    opened: Mutex<Option<Arc<Monitor>>>,
}

impl MonitorSlot {
    /// A slot for the monitor `settings` name; nothing is opened yet.
    pub fn new(settings: MonitorSettings) -> Self {
        Self {
            settings,
            opened: Mutex::new(None),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &MonitorSettings {
        &self.settings
    }

    /// The monitor, opening it when it is not open yet (blocking: call from a blocking
    /// thread).
    pub fn get(&self) -> Result<Arc<Monitor>, Error> {
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(monitor) = &*opened {
            return Ok(Arc::clone(monitor));
        }
        let monitor = Arc::new(Monitor::open(&self.settings)?);
        *opened = Some(Arc::clone(&monitor));
        Ok(monitor)
    }
}
