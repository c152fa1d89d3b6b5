use altsim::cli::{Cli, Command, PaperArgs, RecordArgs, ServeArgs, SweepQuery};
use altsim::{console, inspect, log};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn run_paper(a: PaperArgs) -> Result<(), Exit> {
    let cfg = a.config()?;
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

fn run_record(a: RecordArgs) -> Result<(), Exit> {
    let cfg = a.config()?;
    let summary = altsim::record::run_cli(cfg)?;
    console::status(format_args!("{summary}"));
    Ok(())
}

fn run_serve(a: ServeArgs) -> Result<(), Exit> {
    let cfg = a.config()?;
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
            budget,
        } => set_budget(&budget).and_then(|_| match (journal, scenario, out) {
            (Some(j), _, Some(o)) => run_replay(j, o, quiet),
            (Some(_), _, None) => Err("backtest --journal needs --out".to_string().into()),
            (None, Some(s), out) => run_backtest(s, out, quiet, !no_cache),
            (None, None, _) => Err("backtest needs a scenario or --journal".to_string().into()),
        }),
        Command::Report { dir, compare, out } => run_report(dir, compare, out),
        Command::Cache {
            files,
            markets,
            list,
            gc,
            budget,
        } => run_cache(files, markets, list, gc, &budget),
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
            budget,
        } => (|| {
            set_budget(&budget)?;
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
    Error(Box<dyn std::error::Error + Send + Sync>),
}

/// Any error, typed or text, ends the command with its message.
impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> From<E> for Exit {
    fn from(e: E) -> Self {
        Exit::Error(e.into())
    }
}

/// Writes results to stdout; a closed pipe ends the command quietly, other failures (a full
/// disk) are errors.
fn print(text: &str) -> Result<(), Exit> {
    console::out(text).map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Exit::BrokenPipe,
        _ => Exit::Error(format!("writing to stdout: {e}").into()),
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
    print(&altsim::sweep::ranking(what, plan, results, out))
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

/// Sets this process's event cache budget from `--cache-budget`, when given.
fn set_budget(b: &altsim::cli::CacheBudget) -> Result<(), Exit> {
    if let Some(text) = &b.cache_budget {
        let bytes = altsim::tape::cache::gc::budget(Some(text))?;
        altsim::tape::cache::gc::set_budget(bytes);
    }
    Ok(())
}

fn run_cache(
    files: Vec<PathBuf>,
    markets: Option<PathBuf>,
    list: bool,
    gc: bool,
    budget: &altsim::cli::CacheBudget,
) -> Result<(), Exit> {
    use altsim::tape::cache;
    let budget = cache::gc::budget(budget.cache_budget.as_deref())?;
    if list || gc {
        return print(&altsim::tape::cache::gc::report(
            &files,
            gc.then_some(budget),
        )?);
    }
    let rules = altsim::venue::market::default_markets(markets.as_deref(), &files)?;
    let key = cache::key(&files, &rules)?;
    let at = cache::path_for(&files, &key);
    if cache::CacheReader::open(&at, &key, &files).is_some() {
        return print(&format!("up to date {}\n", console::shown(&at).display()));
    }
    let n = cache::build(&files, rules, &key, &at)?;
    let removed = cache::gc::collect(at.parent().unwrap_or(Path::new(".")), budget)?;
    let bytes = std::fs::metadata(&at).map(|m| m.len()).unwrap_or(0);
    print(&format!(
        "built      {} ({} events, {})\n{}",
        console::shown(&at).display(),
        console::thousands(n),
        cache::gc::human(bytes),
        removed
            .iter()
            .map(|e| format!(
                "removed    {} (least recently used)\n",
                console::shown(&e.path).display()
            ))
            .collect::<String>()
    ))
}

fn run_backtest(
    scenario: PathBuf,
    out: Option<PathBuf>,
    quiet: bool,
    cache: bool,
) -> Result<(), Exit> {
    use altsim::backtest::{run_from, CacheUse, Progress};
    let s = altsim::scenario::load(&scenario)?;
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
    let rules = altsim::venue::market::default_markets(markets.as_deref(), &files)?;
    let report = inspect::inspect(files, rules)?;
    print(&report.to_string())
}
