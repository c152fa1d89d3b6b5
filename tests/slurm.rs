//! `deploy/slurm/sweep.sbatch`, submitted unchanged to a real one-node Slurm cluster
//! (`deploy/slurm/local-cluster.sh`): the merged folder is the one a single process writes,
//! also after a task is cancelled mid-run and resubmitted alone.
//!
//! Needs Slurm and munge (Debian's `slurm-wlm` and `munge`) and root to start them; without
//! them it says so on stderr and passes. The cluster is left running for whoever else uses it
//! (`deploy/slurm/local-cluster.sh stop` ends it).

mod folders;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Polls at most this many times, 200 ms apart: a hang guard, never a wait for work.
const POLLS: usize = 3_000;

fn skip(why: &str) {
    // Past the test harness's capture, so the skip shows in every run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED tests/slurm.rs: {why}; to run it, install Slurm and munge (as root: \
         apt-get install slurm-wlm munge)"
    );
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts the local cluster (or finds it running); its SLURM_CONF, or `None` to skip.
fn cluster() -> Option<String> {
    let found = |bin: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {bin}"))
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found("sbatch") || !found("slurmctld") || !found("munged") {
        skip("no sbatch, slurmctld or munged on PATH");
        return None;
    }
    let script = std::path::absolute("deploy/slurm/local-cluster.sh").unwrap();
    let started = Command::new("bash")
        .arg(&script)
        .arg("start")
        .output()
        .unwrap();
    if !started.status.success() {
        skip(&format!(
            "the local cluster did not start ({})",
            String::from_utf8_lossy(&started.stderr).trim()
        ));
        return None;
    }
    let env = run(Command::new("bash").arg(&script).arg("env"));
    let line = String::from_utf8(env.stdout).unwrap();
    Some(
        line.trim()
            .strip_prefix("export SLURM_CONF=")
            .unwrap()
            .to_string(),
    )
}

struct Slurm {
    conf: String,
    dir: PathBuf,
}

impl Slurm {
    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new(prog);
        c.env("SLURM_CONF", &self.conf).current_dir(&self.dir);
        c
    }

    /// Submits the shipped script with `env` and `extra` sbatch options; the job id.
    fn submit(&self, env: &[(&str, &str)], extra: &[&str]) -> String {
        let script = std::path::absolute("deploy/slurm/sweep.sbatch").unwrap();
        let mut c = self.cmd("sbatch");
        c.arg("--parsable")
            .args(extra)
            .arg(&script)
            .env("ALTSIM", env!("CARGO_BIN_EXE_altsim"));
        for (k, v) in env {
            c.env(k, v);
        }
        let out = run(&mut c);
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// `JobState` of each task of an array job, by task id, as `scontrol` shows them.
    fn states(&self, job: &str) -> Vec<(String, String)> {
        let out = self
            .cmd("scontrol")
            .args(["show", "job", "-o", job])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let field = |k: &str| {
                    l.split_whitespace()
                        .find_map(|f| f.strip_prefix(k))
                        .map(str::to_string)
                };
                Some((field("ArrayTaskId=")?, field("JobState=")?))
            })
            .collect()
    }

    /// Polls `squeue` until the job has left the queue.
    fn wait(&self, job: &str) {
        for _ in 0..POLLS {
            let out = self.cmd("squeue").args(["-h", "-j", job]).output().unwrap();
            if out.status.success() && out.stdout.is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!("job {job} still queued after the hang guard");
    }
}

/// Every file under `a` equals the one under `b` (and none is missing), skipping `parts`.
fn same_tree(a: &Path, b: &Path) {
    let mut names = Vec::new();
    collect(a, a, &mut names);
    let mut theirs = Vec::new();
    collect(b, b, &mut theirs);
    theirs.retain(|p| !p.starts_with("parts"));
    names.sort();
    theirs.sort();
    assert_eq!(names, theirs, "{} and {}", a.display(), b.display());
    for n in &names {
        let (x, y) = (
            std::fs::read(a.join(n)).unwrap(),
            std::fs::read(b.join(n)).unwrap(),
        );
        assert!(x == y, "{} differs", n.display());
    }
    for must in ["runs.csv", "runs.parquet", "heatmap.png", "top-pnl.png"] {
        assert!(names.iter().any(|n| n == Path::new(must)), "{must} missing");
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_path_buf());
        }
    }
}

/// A working folder as a user's: the shipped scenarios and data.
fn workdir(name: &str) -> PathBuf {
    let dir = folders::tmp("slurm", name);
    for sub in ["scenarios", "data"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(sub).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, dir.join(sub).join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    dir
}

/// One process's sweep, for comparison.
fn one_process(dir: &Path, sweep: &str, out: &str) -> PathBuf {
    let o = dir.join(out);
    run(Command::new(env!("CARGO_BIN_EXE_altsim"))
        .args(["sweep", sweep, "--quiet", "--out"])
        .arg(&o)
        .current_dir(dir));
    o
}

#[test]
fn the_shipped_sbatch_runs_on_a_real_slurm() {
    let Some(conf) = cluster() else { return };

    // As documented: `sbatch deploy/slurm/sweep.sbatch` from the working folder.
    let s = Slurm {
        conf: conf.clone(),
        dir: workdir("array"),
    };
    let job = s.submit(&[], &[]);
    s.wait(&job);
    let states = s.states(&job);
    assert_eq!(states.len(), 8, "{states:?}");
    assert!(states.iter().all(|(_, st)| st == "COMPLETED"), "{states:?}");
    let want = one_process(&s.dir, "scenarios/sweep-mm.toml", "one");
    same_tree(&want, &s.dir.join("results/sweep-mm"));

    // A longer sweep in two shards: task 1 is cancelled while it runs, then resubmitted
    // alone; it resumes and merges. So that the cancel meets a task with some runs done and
    // some not whatever the machine's speed, task 1 first runs through a stand-in for altsim:
    // the shard's sweep runs, then every other run's summary is taken back (as a task stopped
    // before those runs would have left it), and the task waits to be cancelled.
    let s = Slurm {
        conf,
        dir: workdir("cancel"),
    };
    std::fs::write(
        s.dir.join("scenarios/sweep-long.toml"),
        "base = \"mm-tight.toml\"\nout = \"../results/long\"\nmetric = \"pnl_total\"\ntop = 3\n\
         [grid]\n\"strategy.order_refresh_time\" = [5, 10, 15, 20, 30]\n\"run.seed\" = [1, 2, 3, 4]\n\
         [zip]\n\"strategy.bid_spread\" = [\"0.005\", \"0.01\", \"0.02\", \"0.05\"]\n\
         \"strategy.ask_spread\" = [\"0.005\", \"0.01\", \"0.02\", \"0.05\"]\n",
    )
    .unwrap();
    let held = s.dir.join("task-1-held");
    let stand_in = s.dir.join("altsim-held");
    std::fs::write(
        &stand_in,
        format!(
            "#!/bin/sh\nset -e\n\"{real}\" \"$@\"\n\
             [ \"$SLURM_ARRAY_TASK_ID\" = 1 ] && [ \"$1\" = sweep ] && [ \"$2\" != merge ] || exit 0\n\
             out=; prev=\nfor a in \"$@\"; do [ \"$prev\" = --out ] && out=$a; prev=$a; done\n\
             for f in $(ls \"$out/summaries\" | sort | awk 'NR % 2 == 0'); do rm \"$out/summaries/$f\"; done\n\
             touch \"{held}\"\nexec sleep 3600\n",
            real = env!("CARGO_BIN_EXE_altsim"),
            held = held.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &stand_in,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let env = [
        ("SWEEP", "scenarios/sweep-long.toml"),
        ("OUT", "results/long"),
    ];
    let stand_in = stand_in.to_str().unwrap();
    let job = s.submit(&[env[0], env[1], ("ALTSIM", stand_in)], &["--array=0-1"]);
    let summaries = s.dir.join("results/long/parts/1/summaries");
    let mut cancelled = false;
    for _ in 0..POLLS {
        let running = s
            .states(&job)
            .iter()
            .any(|(t, st)| t == "1" && st == "RUNNING");
        if running && held.exists() {
            run(s.cmd("scancel").arg(format!("{job}_1")));
            cancelled = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(cancelled, "task 1 never held");
    s.wait(&job);
    let states = s.states(&job);
    assert!(
        states.iter().any(|(t, st)| t == "1" && st == "CANCELLED"),
        "{states:?}"
    );
    let kept: Vec<(PathBuf, std::time::SystemTime)> = std::fs::read_dir(&summaries)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let t = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, t)
        })
        .collect();
    assert_eq!(kept.len(), 20, "the runs task 1 kept of its 40");
    assert!(
        !s.dir.join("results/long/runs.csv").exists(),
        "merged too early"
    );
    let again = s.submit(&[env[0], env[1], ("SHARDS", "2")], &["--array=1"]);
    s.wait(&again);
    assert_eq!(s.states(&again), [("1".into(), "COMPLETED".into())]);
    // The runs it had finished were kept, not run again.
    for (p, t) in &kept {
        assert_eq!(
            std::fs::metadata(p).unwrap().modified().unwrap(),
            *t,
            "{}",
            p.display()
        );
    }
    let want = one_process(&s.dir, "scenarios/sweep-long.toml", "one");
    same_tree(&want, &s.dir.join("results/long"));
}
