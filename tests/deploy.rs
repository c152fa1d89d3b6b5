//! The deployment files cannot drift from the command line: every `altsim` command line in
//! `deploy/kubernetes/*.yaml` and `deploy/slurm/*` is expanded by the shell as the engine
//! would run it (with `altsim` standing in as a recorder of its arguments) and parsed with the
//! real command-line parser.

mod folders;

use altsim::cli::Cli;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A stand-in `altsim` that saves each call's arguments (NUL-separated) in `$RECORD/<n>`.
fn recorder(dir: &Path) -> (PathBuf, PathBuf) {
    let bin = dir.join("bin");
    let rec = dir.join("calls");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&rec).unwrap();
    let script = bin.join("altsim");
    std::fs::write(
        &script,
        "#!/bin/sh\nn=$(ls \"$RECORD\" | wc -l)\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$RECORD/$n\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, rec)
}

/// The calls recorded, in order.
fn calls(rec: &Path) -> Vec<Vec<String>> {
    let mut names: Vec<usize> = std::fs::read_dir(rec)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect();
    names.sort_unstable();
    names
        .iter()
        .map(|n| {
            let raw = std::fs::read(rec.join(n.to_string())).unwrap();
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8(a.to_vec()).unwrap())
                .collect()
        })
        .collect()
}

fn parse(args: &[String], from: &str) {
    let argv = std::iter::once("altsim".to_string()).chain(args.iter().cloned());
    if let Err(e) = Cli::try_parse_from(argv) {
        panic!("{from}: altsim {}\n{e}", args.join(" "));
    }
}

#[test]
fn the_slurm_script_runs_commands_the_cli_takes() {
    let dir = folders::tmp("deploy", "slurm");
    let (bin, rec) = recorder(&dir);
    let script = std::path::absolute("deploy/slurm/sweep.sbatch").unwrap();
    // One task of a one-task array: it runs its shard, finds every shard done and merges.
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(&dir)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("RECORD", &rec)
        .env("SLURM_ARRAY_TASK_ID", "0")
        .env("SLURM_ARRAY_TASK_COUNT", "1")
        .env("SLURM_CPUS_PER_TASK", "2")
        .env_remove("ALTSIM")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = calls(&rec);
    assert_eq!(c.len(), 2, "a shard and a merge: {c:?}");
    assert_eq!(&c[0][..2], ["sweep", "scenarios/sweep-mm.toml"]);
    assert_eq!(&c[1][..2], ["sweep", "merge"]);
    for args in &c {
        parse(args, "deploy/slurm/sweep.sbatch");
    }
}

/// The command lines of a Kubernetes manifest's altsim containers (image `altsim…`): `args`
/// as a flow list (altsim is the image's entrypoint), or a `sh -c` script in the first item of
/// a block list.
fn containers(yaml: &str) -> Vec<(bool, String)> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    let mut shell = false;
    let mut ours = false;
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        let indent = lines[i].len() - t.len();
        if let Some(image) = t.strip_prefix("image:") {
            ours = image.trim().starts_with("altsim");
        } else if ours && t.starts_with("command:") {
            shell = t.contains("\"-c\"");
        } else if let Some(rest) = t.strip_prefix("args:").filter(|_| ours) {
            let rest = rest.trim();
            if rest.starts_with('[') {
                // A flow list, possibly over several lines, of quoted strings.
                let mut text = rest.to_string();
                while !text.trim_end().ends_with(']') {
                    i += 1;
                    text.push(' ');
                    text.push_str(lines[i].trim());
                }
                out.push((false, text));
            } else if shell {
                // `- exec altsim …` continued on deeper lines.
                i += 1;
                let first = lines[i]
                    .trim_start()
                    .strip_prefix("- ")
                    .unwrap()
                    .to_string();
                let mut script = first;
                while i + 1 < lines.len() {
                    let next = lines[i + 1];
                    let nt = next.trim_start();
                    if nt.is_empty() || next.len() - nt.len() <= indent + 2 {
                        break;
                    }
                    script.push(' ');
                    script.push_str(nt);
                    i += 1;
                }
                out.push((true, script));
            }
            shell = false;
        }
        i += 1;
    }
    out
}

#[test]
fn the_kubernetes_jobs_run_commands_the_cli_takes() {
    let mut seen = 0;
    for entry in std::fs::read_dir("deploy/kubernetes").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let yaml = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        for (shell, text) in containers(&yaml) {
            let args: Vec<String> = if shell {
                let dir = folders::tmp("deploy", &format!("k8s-{seen}"));
                let (bin, rec) = recorder(&dir);
                let out = Command::new("sh")
                    .arg("-c")
                    .arg(&text)
                    .env(
                        "PATH",
                        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
                    )
                    .env("RECORD", &rec)
                    .env("JOB_COMPLETION_INDEX", "3")
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{name}: {text}");
                calls(&rec).remove(0)
            } else {
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {text}: {e}"))
            };
            parse(&args, &name);
            seen += 1;
        }
    }
    assert!(seen >= 2, "the shards' Job and the merge Job: {seen}");
}
