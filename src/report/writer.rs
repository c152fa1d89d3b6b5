//! A run's result folder written as the run goes: table rows stream to disk, the summary and
//! the chart data are gathered in constant memory, and the files replace the folder's old
//! ones only once all are written, so a failed run (a full disk) leaves the old results whole.

use super::analytics::Analytics;
use super::charts::{self, ChartData};
use super::error::{at, ReportError};
use super::records::{self, EquityRecord, FillRecord, OrderRecord, RowText};
use super::summary::{Summarizer, Summary};
use super::tables::{RunAnalytics, RunInfo, Scales};
use crate::fixed;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Every file a run writes.
const OUTPUTS: &[&str] = &[
    "report.html",
    "fills.csv",
    "orders.csv",
    "equity.csv",
    "markouts.csv",
    "fills.parquet",
    "orders.parquet",
    "equity.parquet",
    "markouts.parquet",
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
    "attribution.png",
    "attribution.svg",
    "sources.png",
    "sources.svg",
    "markouts.png",
    "markouts.svg",
];

/// One CSV table: its header goes before its first row (a table without rows is empty).
struct Csv {
    path: PathBuf,
    w: csv::Writer<File>,
    columns: &'static [&'static str],
    started: bool,
}

impl Csv {
    fn create(path: &Path, columns: &'static [&'static str]) -> Result<Csv, ReportError> {
        let w = csv::Writer::from_path(path).map_err(at(path))?;
        Ok(Csv {
            path: path.to_path_buf(),
            w,
            columns,
            started: false,
        })
    }

    fn row(&mut self, row: &RowText) -> Result<(), ReportError> {
        if !self.started {
            self.started = true;
            self.w.write_record(self.columns).map_err(at(&self.path))?;
        }
        self.w.write_record(row.fields()).map_err(at(&self.path))
    }
}

struct Csvs {
    fills: Csv,
    orders: Csv,
    equity: Csv,
    /// `markouts.csv`, whose columns depend on the horizons: its header is written first.
    markouts: csv::Writer<File>,
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
    analytics: Analytics,
    /// The last equity row: its time, mid and PnL.
    last_equity: Option<(i64, Option<i128>, Option<i128>)>,
    charts: ChartData,
    /// The first write error; later rows are dropped and `finish` returns it.
    failed: Option<ReportError>,
    done: bool,
}

impl ResultWriter {
    /// Starts a run's outputs for `dir` (made if missing). `scales`, `base_unit` and
    /// `quote_unit` are the traded market's, for the typed tables and the summary.
    pub fn create(dir: &Path, scales: Scales, analytics: Analytics) -> Result<Self, ReportError> {
        let tmp = dir.join(format!(".partial-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).map_err(at(&tmp))?;
        let p = tmp.join("markouts.csv");
        let mut markouts = csv::Writer::from_path(&p).map_err(at(&p))?;
        let columns = analytics.markouts().columns();
        markouts.write_record(&columns).map_err(at(&p))?;
        let csv = Csvs {
            fills: Csv::create(&tmp.join("fills.csv"), &records::FILL_COLUMNS)?,
            orders: Csv::create(&tmp.join("orders.csv"), &records::ORDER_COLUMNS)?,
            equity: Csv::create(&tmp.join("equity.csv"), &records::EQUITY_COLUMNS)?,
            markouts,
            text: RowText::default(),
        };
        #[cfg(feature = "parquet")]
        let labels = analytics.markouts().labels().to_vec();
        let mut w = Self::gathering(scales.equity, analytics);
        w.dir = dir.to_path_buf();
        #[cfg(feature = "parquet")]
        {
            w.parquet = Some(super::parquet::Tables::create(&tmp, scales, labels));
        }
        w.tmp = tmp;
        w.csv = Some(csv);
        w.done = false;
        Ok(w)
    }

    /// Gathers the summary only: no folder, no tables, no charts (a sweep's runs outside its
    /// top results). The summary is the one [`create`](Self::create) would give.
    pub fn summary_only(equity_scale: u32, mut analytics: Analytics) -> Self {
        analytics.markouts_mut().without_rows();
        Self::gathering(equity_scale, analytics)
    }

    /// A writer that gathers the summary, its folder and tables not yet set.
    fn gathering(equity_scale: u32, analytics: Analytics) -> Self {
        let m = analytics.market();
        ResultWriter {
            dir: PathBuf::new(),
            tmp: PathBuf::new(),
            csv: None,
            #[cfg(feature = "parquet")]
            parquet: None,
            summary: Summarizer::new(equity_scale, &m.base_unit, &m.quote_unit),
            analytics,
            last_equity: None,
            charts: ChartData::default(),
            failed: None,
            done: true,
        }
    }

    /// The analytics gathered so far.
    pub fn analytics(&self) -> &Analytics {
        &self.analytics
    }

    /// One instant of the run has been applied at `now`: the mid of the strategy market's
    /// book after it (price precision + 1 decimals; `None` when a side is empty), and our best
    /// resting bid and ask there.
    #[inline]
    pub fn instant(
        &mut self,
        now: i64,
        mid: Option<i128>,
        own_bid: Option<i64>,
        own_ask: Option<i64>,
    ) {
        self.analytics.instant(now, mid, own_bid, own_ask);
        if self.analytics.markouts().has_rows() {
            self.markout_rows();
        }
    }

    /// Writes the markout rows that are complete.
    fn markout_rows(&mut self) {
        if self.failed.is_some() {
            return;
        }
        while let Some(row) = self.analytics.markouts_mut().next_row() {
            if let Some(csv) = &mut self.csv {
                let p = self.tmp.join("markouts.csv");
                let r = csv
                    .markouts
                    .write_record(csv.text.markout(&row).fields())
                    .map_err(at(&p));
                self.check(r);
            }
            #[cfg(feature = "parquet")]
            if let Some(pq) = &mut self.parquet {
                let r = pq.markouts.push(row);
                self.check(r);
            }
        }
    }

    /// Whether the run writes a result folder (else only its summary is gathered, and order
    /// rows are not needed).
    pub fn files(&self) -> bool {
        !self.tmp.as_os_str().is_empty()
    }

    /// Whether a write has failed (later rows are dropped): the run can stop early.
    pub fn failed(&self) -> bool {
        self.failed.is_some()
    }

    /// The first write error, naming the folder, taken.
    #[inline(always)]
    pub fn failure(&mut self) -> Option<ReportError> {
        // Checked here, the taking apart: this runs every instant of every run.
        self.failed.as_ref()?;
        self.take_failure()
    }

    #[cold]
    fn take_failure(&mut self) -> Option<ReportError> {
        let e = self.failed.take()?;
        Some(ReportError::Writing {
            dir: self.dir.clone(),
            source: Box::new(e),
        })
    }

    fn check(&mut self, r: Result<(), ReportError>) {
        if let Err(e) = r {
            self.failed.get_or_insert(e);
        }
    }

    pub fn fill(&mut self, row: FillRecord) {
        if self.failed.is_some() {
            return;
        }
        self.summary.fill(&row);
        self.analytics.fill(&row);
        self.markout_rows();
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
        let point = self.analytics.equity(&row);
        let pp = self.analytics.market().price_precision;
        self.last_equity = Some((
            row.time_ns,
            row.mid.units_at(pp + 1),
            row.pnl.units_at(self.analytics.market().scale()),
        ));
        if self.files() {
            self.charts.equity(&row);
            if let Some(p) = point {
                self.charts.sources(&p, self.analytics.market().scale());
            }
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

    /// The summary with the analytics, once the last rows are in: the markouts still pending
    /// are written (empty past the run's end).
    fn summarize(&mut self, info: &RunInfo) -> Result<Summary, ReportError> {
        let mut summary = self.summary.finish(info);
        let (t1, mid1, pnl) = self.last_equity.unwrap_or_default();
        let placed = |s: &str| fixed::parse_wide(s, info.amount_precision).unwrap_or_default();
        let report = self.analytics.finish(
            t1,
            mid1,
            pnl.unwrap_or_default(),
            (
                placed(&info.volume_placed_buy),
                placed(&info.volume_placed_sell),
            ),
        );
        self.markout_rows();
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if !report.attribution.markets.is_empty() {
            summary.attribution = Some(report.attribution);
        }
        summary.markouts = report.markouts;
        summary.quoting = Some(report.quoting);
        if report.other_fills > 0 {
            summary.data_warnings.push(format!(
                "{} fills on markets other than {} are not in the attribution",
                report.other_fills, info.market
            ));
        }
        Ok(summary)
    }

    /// Writes what is left (run.json, summary.json, charts), then moves every file into the
    /// folder, replacing the old ones.
    pub fn finish(mut self, info: &RunInfo) -> Result<Summary, ReportError> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let summary = self.summarize(info)?;
        if !self.files() {
            return Ok(summary);
        }
        if let Some(mut csv) = self.csv.take() {
            for c in [&mut csv.fills, &mut csv.orders, &mut csv.equity] {
                c.w.flush().map_err(at(&c.path))?;
            }
            csv.markouts
                .flush()
                .map_err(at(&self.tmp.join("markouts.csv")))?;
        }
        let mut info = info.clone();
        info.analytics = Some(RunAnalytics {
            attribution: summary.attribution.clone(),
            markouts: summary.markouts.clone(),
            quoting: summary.quoting.clone(),
            warnings: summary.data_warnings[info.data_warnings.len()..].to_vec(),
        });
        info.write(&self.tmp)?;
        self.charts.analytics(&summary);
        let p = self.tmp.join("summary.json");
        let text = serde_json::to_string_pretty(&summary).expect("summary serializes");
        std::fs::write(&p, text + "\n").map_err(at(&p))?;
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
            || {
                charts::render(&self.tmp, &info, &self.charts)?;
                super::html::write_run(&self.tmp, &info, &summary, &self.charts)
            },
        );
        tables?;
        charts?;
        for name in OUTPUTS {
            let from = self.tmp.join(name);
            if from.exists() {
                let to = self.dir.join(name);
                std::fs::rename(&from, &to).map_err(at(&to))?;
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
