use altsim::{console, inspect, log};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Deterministic backtesting and paper trading for the Altmarkets (Peatio/ranger) exchange.
#[derive(Parser)]
#[command(name = "altsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum SweepQuery {
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
enum Command {
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
    },
    /// Build the event cache of captures (read as one stream, as a scenario lists them): their
    /// normalized events in fixed-width records in .altsim-cache/ beside the first capture,
    /// so backtests skip decompression and parsing. `backtest` builds it on first use too.
    Cache {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Market rules for captures without a header [default: markets.json beside the
        /// first capture].
        #[arg(long)]
        markets: Option<PathBuf>,
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
struct PaperArgs {
    /// Trade on these captures (in receive-time order) instead of a live feed.
    #[arg(long, num_args = 1.., conflicts_with_all = ["markets", "all_markets"])]
    captures: Vec<PathBuf>,
    /// The live feed (without --captures).
    #[command(flatten)]
    feed: FeedArgs,
    /// API keys, secrets and starting balances: a TOML file of [[account]] tables (optional
    /// with --scenario).
    #[arg(long, required_unless_present = "scenario")]
    accounts: Option<PathBuf>,
    /// Run this scenario's strategy in the session (its [run] captures are not read): a status
    /// line while it trades, its result folder in OUT/strategy at the end, and OUT/<name>.toml
    /// to replay it with `altsim backtest`.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Fees, latency, queue model and seed for API accounts: a TOML file with [fees],
    /// [latency], [queue] and seed, or a scenario file [default: the --scenario's, else 0.25 %
    /// fees, no latency, conservative queue].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Session folder: journal.ranger, session.json and results/.
    #[arg(long)]
    out: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Allow a --listen address other than loopback.
    #[arg(long)]
    allow_remote: bool,
    /// Market rules for captures without a header [default: markets.json beside the first
    /// capture].
    #[arg(long, requires = "captures")]
    market_rules: Option<PathBuf>,
    /// Play the captures at the recorded pace times this factor [default: 1].
    #[arg(long, requires = "captures")]
    speed: Option<f64>,
    /// Apply this many seconds of the captures' start at once [default: 0].
    #[arg(long, requires = "captures")]
    start_offset: Option<f64>,
    /// End the session when the captures have been played (else at Ctrl-C or SIGTERM).
    #[arg(long, requires = "captures")]
    exit_at_end: bool,
    #[command(flatten)]
    conns: ConnArgs,
}

/// What clients may hold of a server (`serve`, `paper`).
#[derive(clap::Args)]
struct ConnArgs {
    /// Connections one client address may hold open; more are closed as they arrive.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_conns_per_ip: u32,
    /// Connections open at once in all (keep it under the open-file limit, `ulimit -n`).
    #[arg(long, value_name = "N", default_value_t = 768, value_parser = clap::value_parser!(u32).range(1..))]
    max_conns: u32,
}

impl ConnArgs {
    fn limits(&self) -> altsim::serve::conn::Limits {
        altsim::serve::conn::Limits {
            per_ip: self.max_conns_per_ip as usize,
            total: self.max_conns as usize,
            ..Default::default()
        }
    }
}

fn run_paper(a: PaperArgs) -> Result<(), Exit> {
    let source = if a.captures.is_empty() {
        if a.speed.is_some()
            || a.start_offset.is_some()
            || a.exit_at_end
            || a.market_rules.is_some()
        {
            return Err(
                "--speed, --start-offset, --exit-at-end and --market-rules apply to \
                        --captures, not to a live feed"
                    .to_string()
                    .into(),
            );
        }
        let markets = a.feed.which().ok_or_else(|| {
            "a live session needs --markets (or --all-markets); give --captures to trade on \
             recorded data"
                .to_string()
        })?;
        altsim::paper::Source::Live {
            ws: a.feed.ws,
            rest: a.feed.rest,
            markets,
        }
    } else {
        altsim::paper::Source::Captures {
            markets: inspect::default_markets(a.market_rules.as_deref(), &a.captures)?,
            paths: a.captures,
            speed: a.speed.unwrap_or(1.0),
            start_offset_ns: secs(a.start_offset.unwrap_or(0.0), "start-offset")?.as_nanos() as i64,
        }
    };
    let accounts = match &a.accounts {
        Some(p) => altsim::paper::load_accounts(p)?,
        None => Vec::new(),
    };
    let scenario = match &a.scenario {
        Some(p) => {
            let s = altsim::scenario::load_live(p).map_err(|e| e.to_string())?;
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Some((s, text))
        }
        None => None,
    };
    let (exchange, exchange_source) = match a.config.as_ref().or(a.scenario.as_ref()) {
        None => (Default::default(), (String::new(), String::new())),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let cfg = altsim::scenario::parse_exchange(p, &text).map_err(|e| e.to_string())?;
            (cfg, (p.display().to_string(), text))
        }
    };
    let cfg = altsim::paper::Config {
        listen: a.listen,
        source,
        scenario,
        accounts,
        exchange,
        exchange_source,
        out: a.out.clone(),
        limits: a.conns.limits(),
    };
    let s = altsim::paper::run_cli(cfg, a.allow_remote, a.exit_at_end)?;
    log!(
        "altsim paper: {} frames, {} requests, {} orders, {} fills; results in {}",
        s.frames,
        s.requests,
        s.orders,
        s.fills,
        a.out.join("results").display()
    );
    if let Some((dir, summary)) = &s.strategy {
        print(&format!(
            "{summary}results    {}\n",
            altsim::console::shown(dir).display()
        ))?;
    }
    Ok(())
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Captures to play; several are merged in receive-time order.
    #[arg(required = true)]
    captures: Vec<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Market rules for captures without a header [default: markets.json beside the first capture].
    #[arg(long)]
    markets: Option<PathBuf>,
    /// Play at the recorded pace times this factor.
    #[arg(long, default_value_t = 1.0, conflicts_with = "max_speed")]
    speed: f64,
    /// Play as fast as the slowest subscriber reads.
    #[arg(long)]
    max_speed: bool,
    /// Play the captures again and again.
    #[arg(long = "loop")]
    looping: bool,
    /// Skip this many seconds of the captures' start (the books still build from them).
    #[arg(long, default_value_t = 0.0)]
    start_offset: f64,
    /// Start playing once this many clients have subscribed.
    #[arg(long, default_value_t = 0)]
    wait_clients: usize,
    /// Exit when the captures have been played.
    #[arg(long)]
    exit_at_end: bool,
    /// Fault: close each connection after this many frames.
    #[arg(long, value_name = "N")]
    drop_every_frames: Option<u64>,
    /// Fault: close each connection this many seconds after it opened.
    #[arg(long, value_name = "S")]
    drop_every_secs: Option<f64>,
    /// Fault: every Nth increment skips a sequence number.
    #[arg(long, value_name = "N")]
    skip_seq_every: Option<u64>,
    /// Fault: every Nth increment restarts sequences at 1 (an engine restart).
    #[arg(long, value_name = "N")]
    restart_seq_every: Option<u64>,
    /// Fault: send a malformed frame before every Nth frame.
    #[arg(long, value_name = "N")]
    malformed_every: Option<u64>,
    /// Fault: after every Nth frame, stall (send nothing, keep the connection) ...
    #[arg(long, value_name = "N", requires = "stall_secs")]
    stall_every: Option<u64>,
    /// ... for this many seconds.
    #[arg(long, value_name = "S", requires = "stall_every")]
    stall_secs: Option<f64>,
    /// Seconds between protocol pings.
    #[arg(long, default_value_t = 54.0)]
    ping_secs: f64,
    /// Drop a client silent for this many seconds.
    #[arg(long, default_value_t = 60.0)]
    timeout_secs: f64,
    #[command(flatten)]
    conns: ConnArgs,
}

/// A live ranger endpoint and the markets to follow on it, as `record` and `paper` take them.
#[derive(clap::Args)]
struct FeedArgs {
    /// Ranger WebSocket (any Peatio/ranger exchange).
    #[arg(long, default_value = altsim::record::DEFAULT_WS)]
    ws: String,
    /// Peatio REST base, for market rules (and `record`'s depth snapshots).
    #[arg(long, default_value = altsim::record::DEFAULT_REST)]
    rest: String,
    /// Markets, comma-separated (btcusdt,ethusdt).
    #[arg(long, value_delimiter = ',')]
    markets: Vec<String>,
    /// Every enabled market that public/markets lists.
    #[arg(long)]
    all_markets: bool,
}

impl FeedArgs {
    /// The markets asked for; `None` when neither flag was given.
    fn which(&self) -> Option<altsim::record::Markets> {
        use altsim::record::Markets;
        match (self.all_markets, self.markets.is_empty()) {
            (true, _) => Some(Markets::AllEnabled),
            (false, false) => Some(Markets::List(self.markets.clone())),
            (false, true) => None,
        }
    }
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["markets", "all_markets"])))]
struct RecordArgs {
    #[command(flatten)]
    feed: FeedArgs,
    /// Folder for the capture files.
    #[arg(long)]
    out: PathBuf,
    /// Start a new file every UTC hour or day.
    #[arg(long, value_enum, default_value = "hour")]
    rotate: altsim::record::Rotate,
    /// Start a new file past this many MB on disk.
    #[arg(long, default_value_t = 1024)]
    max_file_mb: u64,
    /// Also record REST depth snapshots this often, in seconds.
    #[arg(long)]
    depth_every: Option<f64>,
    /// Seconds between pings.
    #[arg(long, default_value_t = 30.0)]
    ping_secs: f64,
    /// A connection silent this many seconds is dead.
    #[arg(long, default_value_t = 60.0)]
    silence_secs: f64,
    /// Longest wait between reconnection attempts, in seconds.
    #[arg(long, default_value_t = 30.0)]
    max_backoff_secs: f64,
    /// No status line or log lines.
    #[arg(long)]
    quiet: bool,
}

fn run_record(a: RecordArgs) -> Result<(), Exit> {
    use altsim::record::Config;
    let which = a
        .feed
        .which()
        .ok_or_else(|| "--markets or --all-markets is required".to_string())?;
    let mut cfg = Config::new(a.out, which);
    cfg.ws = a.feed.ws;
    cfg.rest = a.feed.rest;
    cfg.rotate = a.rotate;
    cfg.max_bytes = Some(a.max_file_mb.max(1) << 20);
    cfg.depth_every = a.depth_every.map(|s| secs(s, "depth-every")).transpose()?;
    cfg.ping_every = secs(a.ping_secs, "ping-secs")?;
    cfg.silence = secs(a.silence_secs, "silence-secs")?;
    cfg.backoff_max = secs(a.max_backoff_secs, "max-backoff-secs")?;
    cfg.progress = !a.quiet;
    let summary = altsim::record::run_cli(cfg)?;
    console::status(format_args!("{summary}"));
    Ok(())
}

fn secs(s: f64, what: &str) -> Result<std::time::Duration, String> {
    std::time::Duration::try_from_secs_f64(s)
        .map_err(|_| format!("--{what}: {s} is not a duration"))
}

fn run_serve(a: ServeArgs) -> Result<(), Exit> {
    use altsim::serve::{Config, Faults, Pace};
    let rules = inspect::default_markets(a.markets.as_deref(), &a.captures)?;
    let mut cfg = Config::new(a.captures, rules);
    cfg.listen = a.listen;
    if !(a.speed > 0.0 && a.speed.is_finite()) {
        return Err(format!("--speed: {} must be a positive number", a.speed).into());
    }
    cfg.pace = if a.max_speed {
        Pace::Max
    } else {
        Pace::Recorded { speed: a.speed }
    };
    cfg.looping = a.looping;
    cfg.start_offset_ns = secs(a.start_offset, "start-offset")?.as_nanos() as i64;
    cfg.wait_clients = a.wait_clients;
    cfg.ping = secs(a.ping_secs, "ping-secs")?;
    cfg.timeout = secs(a.timeout_secs, "timeout-secs")?;
    cfg.limits = a.conns.limits();
    cfg.faults = Faults {
        drop_after_frames: a.drop_every_frames,
        drop_after: a
            .drop_every_secs
            .map(|s| secs(s, "drop-every-secs"))
            .transpose()?,
        skip_seq_every: a.skip_seq_every,
        restart_seq_every: a.restart_seq_every,
        malformed_every: a.malformed_every,
        stall_every: a.stall_every,
        stall_for: a.stall_secs.map(|s| secs(s, "stall-secs")).transpose()?,
    };
    let stats = altsim::serve::run_cli(cfg, a.exit_at_end)?;
    log!(
        "altsim serve: {} frames published, playback {}",
        stats.frames_published,
        if stats.playback_done {
            "complete"
        } else {
            "stopped"
        }
    );
    for c in &stats.clients {
        log!(
            "  client {} {}: {} frames sent{}{}",
            c.id,
            c.addr,
            c.frames_sent,
            if c.malformed_sent > 0 {
                format!(", {} malformed", c.malformed_sent)
            } else {
                String::new()
            },
            if c.dropped_slow {
                ", dropped as too slow"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { files, markets } => run_inspect(files, markets),
        Command::Backtest {
            scenario,
            journal,
            out,
            quiet,
            no_cache,
        } => match (journal, scenario, out) {
            (Some(j), _, Some(o)) => run_replay(j, o, quiet),
            (Some(_), _, None) => Err("backtest --journal needs --out".to_string().into()),
            (None, Some(s), out) => run_backtest(s, out, quiet, !no_cache),
            (None, None, _) => Err("backtest needs a scenario or --journal".to_string().into()),
        },
        Command::Report { dir, compare, out } => run_report(dir, compare, out),
        Command::Cache { files, markets } => run_cache(files, markets),
        Command::Sweep {
            query:
                Some(SweepQuery::Report {
                    dir,
                    metric,
                    top,
                    by,
                }),
            ..
        } => run_sweep_report(dir, metric, top, by),
        Command::Sweep {
            query: Some(SweepQuery::Merge { parts, out, quiet }),
            ..
        } => run_sweep_merge(&parts, &out, quiet),
        Command::Sweep {
            query: None,
            sweep: Some(sweep),
            out,
            jobs,
            keep_runs,
            quiet,
            shard,
            shards,
            resume,
        } => (|| {
            let shard = altsim::sweep::shard(shard.as_deref(), shards, |k| std::env::var(k).ok())?;
            let opts = altsim::sweep::Options {
                jobs,
                keep_all: keep_runs,
                progress: !quiet,
                shard,
                resume,
                stop: Some(stop_on_ctrl_c()),
            };
            run_sweep(sweep, out, &opts, quiet)
        })(),
        Command::Sweep { sweep: None, .. } => Err(
            "sweep needs a sweep file (or `sweep report DIR`, `sweep merge PART… --out DIR`)"
                .to_string()
                .into(),
        ),
        Command::Serve(args) => run_serve(args),
        Command::Record(args) => run_record(args),
        Command::Paper(args) => run_paper(args),
    };
    match result {
        Ok(()) | Err(Exit::BrokenPipe) => ExitCode::SUCCESS,
        Err(Exit::Error(e)) => {
            log!("altsim: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How a command ends early: with an error to print, or quietly because whoever read its
/// output has gone (`altsim inspect … | head`), as other Unix tools do.
enum Exit {
    BrokenPipe,
    Error(String),
}

impl From<String> for Exit {
    fn from(e: String) -> Self {
        Exit::Error(e)
    }
}

/// Writes results to stdout; a closed pipe ends the command quietly, other failures (a full
/// disk) are errors.
fn print(text: &str) -> Result<(), Exit> {
    console::out(text).map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Exit::BrokenPipe,
        _ => Exit::Error(format!("writing to stdout: {e}")),
    })
}

fn run_sweep(
    path: PathBuf,
    out: Option<PathBuf>,
    opts: &altsim::sweep::Options,
    quiet: bool,
) -> Result<(), Exit> {
    let mut sweep = altsim::sweep::load(&path)?;
    if let Some(o) = out {
        sweep.out = o;
    }
    let results = sweep.run(opts)?;
    if quiet {
        return Ok(());
    }
    print_ranking(
        &path.display().to_string(),
        &sweep.plan,
        &results,
        &sweep.out,
    )
}

/// A flag the first Ctrl-C sets, for work that stops cleanly between steps; a second Ctrl-C
/// ends the process at once. Without a signal handler (none could be set up), Ctrl-C ends
/// the process as usual.
fn stop_on_ctrl_c() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let set = flag.clone();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                set.store(true, std::sync::atomic::Ordering::Relaxed);
                log!("altsim: stopping after the runs in flight (Ctrl-C again to quit now)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    });
    flag
}

fn run_sweep_merge(parts: &[PathBuf], out: &Path, quiet: bool) -> Result<(), Exit> {
    let (plan, results) = altsim::sweep::merge(parts, out)?;
    if quiet {
        return Ok(());
    }
    print_ranking(&format!("{} parts", parts.len()), &plan, &results, out)
}

/// The best runs of a sweep, as a table for a terminal.
fn print_ranking(
    what: &str,
    plan: &altsim::sweep::Plan,
    results: &[altsim::sweep::RunResult],
    out: &Path,
) -> Result<(), Exit> {
    let mut text = format!(
        "{} runs of {}, ranked by {}\n",
        results.len(),
        what,
        plan.metric
    );
    let mut head = vec!["rank".to_string(), "run".to_string()];
    head.extend(plan.keys.iter().cloned());
    let shown = [
        "pnl_total",
        "vs_hold",
        "spread_pnl",
        "fills",
        "max_drawdown",
    ];
    head.extend(shown.map(String::from));
    if !shown.contains(&plan.metric.as_str()) {
        head.push(plan.metric.clone());
    }
    let mut rows = vec![head.clone()];
    for (i, r) in plan.ranked(results).into_iter().take(plan.top).enumerate() {
        let mut row = vec![(i + 1).to_string(), r.name.clone()];
        row.extend(r.values.iter().map(altsim::sweep::plain));
        for m in &head[2 + plan.keys.len()..] {
            row.push(altsim::sweep::field(&r.summary, m));
        }
        rows.push(row);
    }
    text.push_str(&altsim::console::aligned(&rows));
    text.push_str(&format!(
        "results    {}\n",
        altsim::console::shown(&out.join("runs.csv")).display()
    ));
    print(&text)
}

#[cfg(feature = "parquet")]
fn run_sweep_report(
    dir: PathBuf,
    metric: String,
    top: usize,
    by: Option<String>,
) -> Result<(), Exit> {
    print(&altsim::sweep::report(&dir, &metric, top, by.as_deref())?)
}

#[cfg(not(feature = "parquet"))]
fn run_sweep_report(_: PathBuf, _: String, _: usize, _: Option<String>) -> Result<(), Exit> {
    Err(
        "sweep report reads runs.parquet: this build has no Parquet support (feature parquet)"
            .to_string()
            .into(),
    )
}

fn run_cache(files: Vec<PathBuf>, markets: Option<PathBuf>) -> Result<(), Exit> {
    use altsim::tape::cache;
    let rules = inspect::default_markets(markets.as_deref(), &files)?;
    let key = cache::key(&files, &rules)?;
    let at = cache::path_for(&files, &key);
    if cache::CacheReader::open(&at, &key).is_some() {
        return print(&format!("up to date {}\n", at.display()));
    }
    let n = cache::build(&files, rules, &key, &at)?;
    print(&format!(
        "built      {} ({} events)\n",
        at.display(),
        inspect::thousands(n)
    ))
}

fn run_backtest(
    scenario: PathBuf,
    out: Option<PathBuf>,
    quiet: bool,
    cache: bool,
) -> Result<(), Exit> {
    use altsim::backtest::{run_from, CacheUse, Progress};
    let s = altsim::scenario::load(&scenario).map_err(|e| e.to_string())?;
    let progress = if quiet {
        Progress::Quiet
    } else {
        Progress::Auto
    };
    let (outcome, used) = run_from(&s, out.as_deref(), progress, cache)?;
    if let CacheUse::Failed(e) = used {
        log!("warning    event cache not used: {e}");
    }
    for w in &outcome.warnings {
        log!("warning    {w}");
    }
    if !quiet {
        print(&format!(
            "{}results    {}\n",
            outcome.summary,
            altsim::console::shown(out.as_deref().unwrap_or(&s.out)).display()
        ))?;
    }
    Ok(())
}

fn run_replay(dir: PathBuf, out: PathBuf, quiet: bool) -> Result<(), Exit> {
    let r = altsim::paper::journal::replay(&dir, &out)?;
    if let Some(w) = &r.warning {
        log!("warning    {w}");
    }
    if r.cut {
        log!("warning    the journal ends without a stop record (the session was killed); replayed up to its last record");
    }
    if !quiet {
        print(&format!(
            "replayed   {} records, {} requests\norders     {}\nfills      {}\nresults    {}\n",
            r.records,
            r.requests,
            r.orders,
            r.fills,
            out.display()
        ))?;
    }
    Ok(())
}

fn run_report(
    dir: Option<PathBuf>,
    compare: Option<Vec<PathBuf>>,
    out: Option<PathBuf>,
) -> Result<(), Exit> {
    if let Some(dirs) = compare {
        let dest = out.unwrap_or_else(|| dirs[0].clone());
        let list: Vec<&std::path::Path> = dirs.iter().map(|d| d.as_path()).collect();
        let table = altsim::report::compare(&list, &dest)?;
        let shown = altsim::console::shown(&dest);
        print(&format!(
            "{table}results    {0}/compare.csv, {0}/compare.png, {0}/compare-markouts.png\n",
            shown.display()
        ))?;
        return Ok(());
    }
    let dir = dir.expect("clap requires a folder without --compare");
    let summary = altsim::report::rerender(&dir)?;
    print(&summary.to_string())
}

fn run_inspect(files: Vec<PathBuf>, markets: Option<PathBuf>) -> Result<(), Exit> {
    let rules = inspect::default_markets(markets.as_deref(), &files)?;
    let report = inspect::inspect(files, rules).map_err(|e| e.to_string())?;
    print(&report.to_string())
}
