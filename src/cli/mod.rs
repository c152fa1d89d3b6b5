//! The command line's arguments (clap), in the library so that tests parse the command lines
//! the deployment files hold with the real parser. `main.rs` dispatches them.

mod settings;

use clap::{Parser, Subcommand};
pub use settings::{secs, SettingsError};
use std::path::PathBuf;

/// Deterministic backtesting and paper trading for the Altmarkets (Peatio/ranger) exchange.
#[derive(Parser)]
#[command(name = "altsim", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum SweepQuery {
    /// Query a finished sweep's OUT/runs.parquet: its top runs by a metric, or the best run
    /// for each value of one parameter.
    Report {
        /// The sweep's result folder.
        dir: PathBuf,
        /// The column to rank by, highest first (a summary metric or a parameter).
        #[arg(long, default_value = "pnl_total")]
        metric: String,
        /// Rows to show.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Group by this parameter (a column of runs.csv): the best run for each value.
        #[arg(long, value_name = "PARAM")]
        by: Option<String>,
    },
    /// Combine the result folders of a sharded sweep's tasks (`--shard`/`--shards`) into OUT:
    /// the folder one unsharded process writes, with runs.csv, runs.parquet, the heatmap, the
    /// best runs' folders and their PnL chart. Needs only the parts, not the sweep file.
    Merge {
        /// The shards' result folders.
        #[arg(required = true, value_name = "PART")]
        parts: Vec<PathBuf>,
        /// Where the combined results go.
        #[arg(long, required = true)]
        out: PathBuf,
        /// No ranking.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a scenario (a TOML file: captures, balances, fees, latency, queue model, strategy)
    /// and write its result folder: fills, orders and equity tables (CSV and Parquet),
    /// summary.json and charts (PNG and SVG).
    Backtest {
        #[arg(required_unless_present = "journal")]
        scenario: Option<PathBuf>,
        /// Replay a paper session folder instead (its journal through the same engine) and
        /// write its results (orders.csv, fills.csv, balances.csv, private.log) into --out.
        #[arg(long, conflicts_with = "scenario", requires = "out")]
        journal: Option<PathBuf>,
        /// Result folder [default: the scenario's run.out].
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar and no summary table.
        #[arg(long)]
        quiet: bool,
        /// Read the captures themselves, not their event cache (.altsim-cache/ beside the
        /// first capture, built on first use and rebuilt when the captures change).
        #[arg(long)]
        no_cache: bool,
        #[command(flatten)]
        budget: CacheBudget,
    },
    /// Run a sweep: a base scenario's backtest over a grid (every combination) and zipped
    /// lists of scenario keys, in parallel. Writes OUT/scenarios/run-NNNNN.toml (each run's
    /// scenario: `altsim backtest` of it gives the same bytes), OUT/runs.csv and
    /// OUT/runs.parquet (each run's values and summary metrics), heatmap.png, top-pnl.png (the
    /// best runs' PnL curves), the result folders of the best runs in OUT/runs/, and prints
    /// the ranking. OUT/plan.toml holds the varied keys and every run's values. `altsim sweep
    /// report OUT` queries the results.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Sweep {
        #[command(subcommand)]
        query: Option<SweepQuery>,
        /// The sweep file (TOML): base scenario, out, metric, top, [grid] and [zip].
        #[arg(required = true)]
        sweep: Option<PathBuf>,
        /// Result folder [default: the sweep file's out].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Runs at once [default: one per core]; the results do not depend on it.
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Keep every run's result folder, not only the sweep's top ones.
        #[arg(long)]
        keep_runs: bool,
        /// No progress bar and no ranking.
        #[arg(long)]
        quiet: bool,
        /// Run only shard I of N (the runs whose index is I modulo N), as one task of a batch
        /// job; `altsim sweep merge` combines the parts.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Run one of N shards, its index from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)
        /// or SLURM_ARRAY_TASK_ID (Slurm array).
        #[arg(long, value_name = "N")]
        shards: Option<usize>,
        /// Skip the runs whose summary a previous, interrupted run of this sweep saved. (Ctrl-C
        /// starts no new run; the tables then hold the runs done.)
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        budget: CacheBudget,
    },
    /// Build the event cache of captures (read as one stream, as a scenario lists them): their
    /// normalized events, compressed, in .altsim-cache/ beside the first capture, so
    /// backtests skip decompression and parsing (`backtest` builds it on first use too). Or
    /// list the caches of folders, or remove the least recently used past the budget.
    Cache {
        /// Captures to build the cache of; with --list or --gc, folders (of captures, or
        /// .altsim-cache folders).
        #[arg(required = true, value_name = "PATH")]
        files: Vec<PathBuf>,
        /// Market rules for captures without a header [default: markets.json beside the
        /// first capture].
        #[arg(long, conflicts_with_all = ["list", "gc"])]
        markets: Option<PathBuf>,
        /// List the caches: size, when last used, events, and the captures they hold.
        #[arg(long, conflicts_with = "gc")]
        list: bool,
        /// Remove the least recently used caches until the rest fit the budget.
        #[arg(long)]
        gc: bool,
        #[command(flatten)]
        budget: CacheBudget,
    },
    /// Render the summary and charts of a result folder again, or with --compare put result
    /// folders side by side: a table (also compare.csv) and their PnL and markout curves.
    Report {
        /// A result folder.
        #[arg(required_unless_present = "compare")]
        dir: Option<PathBuf>,
        /// Result folders to compare (2 to 64).
        #[arg(long, num_args = 2.., value_name = "DIR")]
        compare: Option<Vec<PathBuf>>,
        /// Where the comparison's table and charts go [default: the first folder].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Summarize captures: markets, time span, frames by kind, sequence gaps, traded volume and
    /// the book at the end. Several files are read as one stream, in the order given.
    Inspect {
        /// Capture files (plain, gzip or zstd; with or without an altsim header).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Market rules (a `public/markets` answer) for captures without a header
        /// [default: markets.json beside the first capture].
        #[arg(long)]
        markets: Option<PathBuf>,
    },
    /// Play captures back as an emulated Altmarkets exchange: the ranger WebSocket at
    /// /api/v2/ranger/public and Peatio's public REST at /api/v2/peatio/public. Prints the
    /// base URL as the first line on stdout; GET /stats tells what each client was sent.
    Serve(ServeArgs),
    /// Record a ranger endpoint's order book and trade streams to zstd capture files, verbatim
    /// with receive times, through disconnects (reconnecting with backoff) and sequence gaps
    /// (resubscribing). Files are flushed every second; Ctrl-C or SIGTERM closes them and
    /// prints a summary.
    Record(RecordArgs),
    /// Paper trade on a live ranger feed (--ws, --markets; kept in sync as `record` does) or on
    /// captures (--captures), behind an Altmarkets-compatible endpoint: public ranger and REST
    /// as `serve`, plus Peatio's private REST (/api/v2/peatio/market/..., account/...) and the
    /// private ranger WebSocket, with Barong API-key auth. Every frame, request and tick is
    /// journaled into --out; `altsim backtest --journal DIR` replays the session. Prints the
    /// base URL as the first line on stdout.
    Paper(PaperArgs),
}

#[derive(clap::Args)]
pub struct PaperArgs {
    /// Trade on these captures (in receive-time order) instead of a live feed.
    #[arg(long, num_args = 1.., conflicts_with_all = ["markets", "all_markets"])]
    pub captures: Vec<PathBuf>,
    /// The live feed (without --captures).
    #[command(flatten)]
    pub feed: FeedArgs,
    /// API keys, secrets and starting balances: a TOML file of [[account]] tables (optional
    /// with --scenario).
    #[arg(long, required_unless_present = "scenario")]
    pub accounts: Option<PathBuf>,
    /// Run this scenario's strategy in the session (its [run] captures are not read): a status
    /// line while it trades, its result folder in OUT/strategy at the end, and OUT/<name>.toml
    /// to replay it with `altsim backtest`.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Fees, latency, queue model and seed for API accounts: a TOML file with [fees],
    /// [latency], [queue] and seed, or a scenario file [default: the --scenario's, else 0.25 %
    /// fees, no latency, conservative queue].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Session folder: journal.ranger, session.json and results/.
    #[arg(long)]
    pub out: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Allow a --listen address other than loopback.
    #[arg(long)]
    pub allow_remote: bool,
    /// Market rules for captures without a header [default: markets.json beside the first
    /// capture].
    #[arg(long, requires = "captures")]
    pub market_rules: Option<PathBuf>,
    /// Play the captures at the recorded pace times this factor [default: 1].
    #[arg(long, requires = "captures")]
    pub speed: Option<f64>,
    /// Apply this many seconds of the captures' start at once [default: 0].
    #[arg(long, requires = "captures")]
    pub start_offset: Option<f64>,
    /// End the session when the captures have been played (else at Ctrl-C or SIGTERM).
    #[arg(long, requires = "captures")]
    pub exit_at_end: bool,
    #[command(flatten)]
    pub conns: ConnArgs,
}

/// The event caches' size budget per folder.
#[derive(clap::Args, Debug, Clone)]
pub struct CacheBudget {
    /// Bytes the event caches of a folder may take (with K, M, G or T); past it the least
    /// recently used are removed when a cache is built [default: ALTSIM_CACHE_BUDGET, else 4G].
    #[arg(long, value_name = "SIZE")]
    pub cache_budget: Option<String>,
}

/// What clients may hold of a server (`serve`, `paper`).
#[derive(clap::Args)]
pub struct ConnArgs {
    /// Connections one client address may hold open; more are closed as they arrive.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns_per_ip: u32,
    /// Connections open at once in all (keep it under the open-file limit, `ulimit -n`).
    #[arg(long, value_name = "N", default_value_t = 768, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: u32,
}

impl ConnArgs {
    pub fn limits(&self) -> crate::serve::conn::Limits {
        crate::serve::conn::Limits {
            per_ip: self.max_conns_per_ip as usize,
            total: self.max_conns as usize,
            ..Default::default()
        }
    }
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Captures to play; several are merged in receive-time order.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Market rules for captures without a header [default: markets.json beside the first capture].
    #[arg(long)]
    pub markets: Option<PathBuf>,
    /// Play at the recorded pace times this factor.
    #[arg(long, default_value_t = 1.0, conflicts_with = "max_speed")]
    pub speed: f64,
    /// Play as fast as the slowest subscriber reads.
    #[arg(long)]
    pub max_speed: bool,
    /// Play the captures again and again.
    #[arg(long = "loop")]
    pub looping: bool,
    /// Skip this many seconds of the captures' start (the books still build from them).
    #[arg(long, default_value_t = 0.0)]
    pub start_offset: f64,
    /// Start playing once this many clients have subscribed.
    #[arg(long, default_value_t = 0)]
    pub wait_clients: usize,
    /// Exit when the captures have been played.
    #[arg(long)]
    pub exit_at_end: bool,
    /// Fault: close each connection after this many frames.
    #[arg(long, value_name = "N")]
    pub drop_every_frames: Option<u64>,
    /// Fault: close each connection this many seconds after it opened.
    #[arg(long, value_name = "S")]
    pub drop_every_secs: Option<f64>,
    /// Fault: every Nth increment skips a sequence number.
    #[arg(long, value_name = "N")]
    pub skip_seq_every: Option<u64>,
    /// Fault: every Nth increment restarts sequences at 1 (an engine restart).
    #[arg(long, value_name = "N")]
    pub restart_seq_every: Option<u64>,
    /// Fault: send a malformed frame before every Nth frame.
    #[arg(long, value_name = "N")]
    pub malformed_every: Option<u64>,
    /// Fault: after every Nth frame, stall (send nothing, keep the connection) ...
    #[arg(long, value_name = "N", requires = "stall_secs")]
    pub stall_every: Option<u64>,
    /// ... for this many seconds.
    #[arg(long, value_name = "S", requires = "stall_every")]
    pub stall_secs: Option<f64>,
    /// Seconds between protocol pings.
    #[arg(long, default_value_t = 54.0)]
    pub ping_secs: f64,
    /// Drop a client silent for this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub timeout_secs: f64,
    #[command(flatten)]
    pub conns: ConnArgs,
}

/// A live ranger endpoint and the markets to follow on it, as `record` and `paper` take them.
#[derive(clap::Args)]
pub struct FeedArgs {
    /// Ranger WebSocket (any Peatio/ranger exchange).
    #[arg(long, default_value = crate::ranger::DEFAULT_WS)]
    pub ws: String,
    /// Peatio REST base, for market rules (and `record`'s depth snapshots).
    #[arg(long, default_value = crate::ranger::DEFAULT_REST)]
    pub rest: String,
    /// Markets, comma-separated (btcusdt,ethusdt).
    #[arg(long, value_delimiter = ',')]
    pub markets: Vec<String>,
    /// Every enabled market that public/markets lists.
    #[arg(long)]
    pub all_markets: bool,
}

impl FeedArgs {
    /// The markets asked for; `None` when neither flag was given.
    pub fn which(&self) -> Option<crate::ranger::Markets> {
        use crate::ranger::Markets;
        match (self.all_markets, self.markets.is_empty()) {
            (true, _) => Some(Markets::AllEnabled),
            (false, false) => Some(Markets::List(self.markets.clone())),
            (false, true) => None,
        }
    }
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["markets", "all_markets"])))]
pub struct RecordArgs {
    #[command(flatten)]
    pub feed: FeedArgs,
    /// Folder for the capture files.
    #[arg(long)]
    pub out: PathBuf,
    /// Start a new file every UTC hour or day.
    #[arg(long, value_enum, default_value = "hour")]
    pub rotate: crate::record::Rotate,
    /// Start a new file past this many MB on disk.
    #[arg(long, default_value_t = 1024)]
    pub max_file_mb: u64,
    /// Also record REST depth snapshots this often, in seconds.
    #[arg(long)]
    pub depth_every: Option<f64>,
    /// Seconds between pings.
    #[arg(long, default_value_t = 30.0)]
    pub ping_secs: f64,
    /// A connection silent this many seconds is dead.
    #[arg(long, default_value_t = 60.0)]
    pub silence_secs: f64,
    /// Longest wait between reconnection attempts, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub max_backoff_secs: f64,
    /// No status line or log lines.
    #[arg(long)]
    pub quiet: bool,
}
