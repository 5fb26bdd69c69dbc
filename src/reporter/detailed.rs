//! `--save-detailed`: every request's timestamps as JSONL, one file per
//! trial, a line appended and flushed as each request completes, so a run
//! that stops keeps every record it finished.

use std::io;

use crate::error::Error;
use crate::records::{JsonlWriter, RecordSink, RequestRecord};
use crate::results::names::FileNames;
use crate::sweep::TrialStart;

pub struct DetailedRecords {
    names: FileNames,
    /// The running trial's file.
    writer: Option<JsonlWriter>,
}

impl DetailedRecords {
    pub fn new(names: FileNames) -> Self {
        Self {
            names,
            writer: None,
        }
    }

    /// Creates the trial's file.
    pub fn open(&mut self, trial: &TrialStart) -> Result<(), Error> {
        let path = self
            .names
            .detailed(trial.level.concurrency, trial.index, trial.trials);
        let writer = JsonlWriter::create(&path).map_err(|e| Error::unwritable(&path, e))?;
        self.writer = Some(writer);
        Ok(())
    }

    pub fn close(&mut self) {
        self.writer = None;
    }
}

impl RecordSink for DetailedRecords {
    fn record(&mut self, record: &RequestRecord) -> io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.record(record),
            None => Ok(()),
        }
    }
}
