//! `--save-detailed`: every request's timestamps as JSONL, one file per
//! trial, a line appended and flushed as each request completes, so a run
//! that stops keeps every record it finished. When a line cannot be written
//! (a full disk), the trial's records, all kept in memory, are written whole
//! when it ends, in the result folder or its fallback.

use std::io;
use std::path::PathBuf;

use crate::error::Error;
use crate::records::{JsonlWriter, RecordSink, RequestRecord};
use crate::results::fs::{self, OutputDir};
use crate::results::names::FileNames;
use crate::sweep::TrialStart;

pub struct DetailedRecords {
    names: FileNames,
    out: OutputDir,
    /// The running trial's file, as asked for, and its writer.
    current: Option<(PathBuf, JsonlWriter)>,
    /// Writing the running trial's file failed: it is rewritten at its end.
    broken: bool,
}

impl DetailedRecords {
    pub fn new(names: FileNames, out: OutputDir) -> Self {
        Self {
            names,
            out,
            current: None,
            broken: false,
        }
    }

    /// Creates the trial's file.
    pub fn open(&mut self, trial: &TrialStart) -> Result<(), Error> {
        let asked = self
            .names
            .detailed(trial.level.concurrency, trial.index, trial.trials);
        let writer = self.out.write(|root| {
            let path = self.out.place(root, &asked);
            JsonlWriter::create(&path).map_err(|e| Error::unwritable(&path, e))
        })?;
        self.current = Some((asked, writer));
        self.broken = false;
        Ok(())
    }

    /// Ends the trial. If a line failed, writes all of `records` (those
    /// that finished) again, whole, where the folder or its fallback allows.
    pub fn close(&mut self, records: &[RequestRecord]) -> Result<(), Error> {
        let Some((asked, writer)) = self.current.take() else {
            return Ok(());
        };
        drop(writer);
        if !std::mem::take(&mut self.broken) {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for record in records.iter().filter(|r| r.is_done()) {
            serde_json::to_writer(&mut bytes, record)
                .map_err(|e| Error::Engine(format!("cannot encode a detailed record: {e}")))?;
            bytes.push(b'\n');
        }
        let written = self.out.write(|root| {
            let path = self.out.place(root, &asked);
            fs::write_file(&path, &bytes).map(|()| path)
        })?;
        if written != asked {
            // The whole trial is in the fallback; the broken part stays no
            // longer where readers would find it first.
            let _ = std::fs::remove_file(&asked);
        }
        Ok(())
    }
}

impl RecordSink for DetailedRecords {
    fn record(&mut self, record: &RequestRecord) -> io::Result<()> {
        match &mut self.current {
            Some((_, writer)) => writer.record(record).inspect_err(|_| self.broken = true),
            None => Ok(()),
        }
    }
}
