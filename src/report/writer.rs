//! A run's result folder written as the run goes: table rows stream to disk, the summary and
//! the chart data are gathered in constant memory, and the files replace the folder's old
//! ones only once all are written, so a failed run (a full disk) leaves the old results whole.

use super::charts::{self, ChartData};
use super::records::{self, EquityRecord, FillRecord, OrderRecord, RowText};
use super::summary::{Summarizer, Summary};
use super::tables::{RunInfo, Scales};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Every file a run writes.
const OUTPUTS: &[&str] = &[
    "fills.csv",
    "orders.csv",
    "equity.csv",
    "fills.parquet",
    "orders.parquet",
    "equity.parquet",
    "run.json",
    "summary.json",
    "price.png",
    "price.svg",
    "pnl.png",
    "pnl.svg",
    "inventory.png",
    "inventory.svg",
    "drawdown.png",
    "drawdown.svg",
];

/// One CSV table: its header goes before its first row (a table without rows is empty).
struct Csv {
    w: csv::Writer<File>,
    columns: &'static [&'static str],
    started: bool,
}

impl Csv {
    fn create(path: &Path, columns: &'static [&'static str]) -> Result<Csv, String> {
        let w = csv::Writer::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Csv {
            w,
            columns,
            started: false,
        })
    }

    fn row(&mut self, row: &RowText) -> Result<(), String> {
        if !self.started {
            self.started = true;
            self.w
                .write_record(self.columns)
                .map_err(|e| e.to_string())?;
        }
        self.w.write_record(row.fields()).map_err(|e| e.to_string())
    }
}

struct Csvs {
    fills: Csv,
    orders: Csv,
    equity: Csv,
    /// The row being written.
    text: RowText,
}

/// Writes the outputs of one run into a folder.
pub struct ResultWriter {
    dir: PathBuf,
    /// Where files are written until [`finish`](Self::finish) moves them into `dir`.
    tmp: PathBuf,
    /// Taken by `finish`.
    csv: Option<Csvs>,
    #[cfg(feature = "parquet")]
    parquet: Option<super::parquet::Tables>,
    summary: Summarizer,
    charts: ChartData,
    /// The first write error; later rows are dropped and `finish` returns it.
    failed: Option<String>,
    done: bool,
}

impl ResultWriter {
    /// Starts a run's outputs for `dir` (made if missing). `scales`, `base_unit` and
    /// `quote_unit` are the traded market's, for the typed tables and the summary.
    pub fn create(
        dir: &Path,
        scales: Scales,
        base_unit: &str,
        quote_unit: &str,
    ) -> Result<Self, String> {
        let equity_scale = scales.equity;
        let tmp = dir.join(format!(".partial-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let csv = Csvs {
            fills: Csv::create(&tmp.join("fills.csv"), &records::FILL_COLUMNS)?,
            orders: Csv::create(&tmp.join("orders.csv"), &records::ORDER_COLUMNS)?,
            equity: Csv::create(&tmp.join("equity.csv"), &records::EQUITY_COLUMNS)?,
            text: RowText::default(),
        };
        Ok(ResultWriter {
            dir: dir.to_path_buf(),
            #[cfg(feature = "parquet")]
            parquet: Some(super::parquet::Tables::create(&tmp, scales)),
            tmp,
            csv: Some(csv),
            summary: Summarizer::new(equity_scale, base_unit, quote_unit),
            charts: ChartData::default(),
            failed: None,
            done: false,
        })
    }

    /// Gathers the summary only: no folder, no tables, no charts (a sweep's runs outside its
    /// top results). The summary is the one [`create`](Self::create) would give.
    pub fn summary_only(equity_scale: u32, base_unit: &str, quote_unit: &str) -> Self {
        ResultWriter {
            dir: PathBuf::new(),
            tmp: PathBuf::new(),
            csv: None,
            #[cfg(feature = "parquet")]
            parquet: None,
            summary: Summarizer::new(equity_scale, base_unit, quote_unit),
            charts: ChartData::default(),
            failed: None,
            done: true,
        }
    }

    fn files(&self) -> bool {
        !self.tmp.as_os_str().is_empty()
    }

    /// The first error writing a row, if any: the run can stop early.
    pub fn failed(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    fn check(&mut self, r: Result<(), String>) {
        if let Err(e) = r {
            self.failed.get_or_insert(e);
        }
    }

    pub fn fill(&mut self, row: FillRecord) {
        if self.failed.is_some() {
            return;
        }
        self.summary.fill(&row);
        if self.files() {
            self.charts.fill(&row);
        }
        if let Some(csv) = &mut self.csv {
            let r = csv.fills.row(csv.text.fill(&row));
            self.check(r);
        }
        #[cfg(feature = "parquet")]
        if let Some(pq) = &mut self.parquet {
            let r = pq.fills.push(row);
            self.check(r);
        }
    }

    pub fn order(&mut self, row: OrderRecord) {
        if self.failed.is_some() {
            return;
        }
        if let Some(csv) = &mut self.csv {
            let r = csv.orders.row(csv.text.order(&row));
            self.check(r);
        }
        #[cfg(feature = "parquet")]
        if let Some(pq) = &mut self.parquet {
            let r = pq.orders.push(row);
            self.check(r);
        }
    }

    pub fn equity(&mut self, row: EquityRecord) {
        if self.failed.is_some() {
            return;
        }
        self.summary.equity(&row);
        if self.files() {
            self.charts.equity(&row);
        }
        if let Some(csv) = &mut self.csv {
            let r = csv.equity.row(csv.text.equity(&row));
            self.check(r);
        }
        #[cfg(feature = "parquet")]
        if let Some(pq) = &mut self.parquet {
            let r = pq.equity.push(row);
            self.check(r);
        }
    }

    /// Writes what is left (run.json, summary.json, charts), then moves every file into the
    /// folder, replacing the old ones.
    pub fn finish(mut self, info: &RunInfo) -> Result<Summary, String> {
        if let Some(e) = self.failed.take() {
            return Err(format!("writing results in {}: {e}", self.dir.display()));
        }
        if !self.files() {
            return Ok(self.summary.finish(info));
        }
        let at = |e: &dyn std::fmt::Display| format!("{}: {e}", self.tmp.display());
        if let Some(mut csv) = self.csv.take() {
            for c in [&mut csv.fills, &mut csv.orders, &mut csv.equity] {
                c.w.flush().map_err(|e| at(&e))?;
            }
        }
        info.write(&self.tmp)?;
        let summary = self.summary.finish(info);
        let p = self.tmp.join("summary.json");
        let text = serde_json::to_string_pretty(&summary).expect("summary serializes");
        std::fs::write(&p, text + "\n").map_err(|e| format!("{}: {e}", p.display()))?;
        // The Parquet tables and the charts are independent files: made side by side.
        #[cfg(feature = "parquet")]
        let parquet = self.parquet.take();
        let (tables, charts) = rayon::join(
            || {
                #[cfg(feature = "parquet")]
                if let Some(pq) = parquet {
                    return pq.finish();
                }
                Ok(())
            },
            || charts::render(&self.tmp, info, &self.charts),
        );
        tables?;
        charts?;
        for name in OUTPUTS {
            let from = self.tmp.join(name);
            if from.exists() {
                let to = self.dir.join(name);
                std::fs::rename(&from, &to).map_err(|e| format!("{}: {e}", to.display()))?;
            }
        }
        self.done = true;
        let _ = std::fs::remove_dir_all(&self.tmp);
        Ok(summary)
    }
}

impl Drop for ResultWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
