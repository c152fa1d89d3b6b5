#!/usr/bin/env bash
# A one-node Slurm cluster with munge on this machine, for trying deploy/slurm/sweep.sbatch
# and for altsim's own tests. Needs root (it starts munged, slurmctld and slurmd).
#
#   deploy/slurm/local-cluster.sh start   # installs slurm-wlm and munge if missing, starts
#   eval "$(deploy/slurm/local-cluster.sh env)"   # SLURM_CONF for sbatch, squeue, sacct
#   deploy/slurm/local-cluster.sh status
#   deploy/slurm/local-cluster.sh stop
#
# Its configuration and state live in $ALTSIM_SLURM_DIR (default /tmp/altsim-slurm); the
# machine's own /etc/slurm is not touched. Finished jobs are listed in log/jobcomp.txt, and
# `scontrol show job` shows them for ten minutes (there is no accounting database for sacct).
set -euo pipefail

DIR=${ALTSIM_SLURM_DIR:-/tmp/altsim-slurm}
CONF=$DIR/slurm.conf
NODE=$(hostname -s)

say() { echo "local-cluster: $*" >&2; }

install() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null; then
        return
    fi
    [[ $(id -u) -eq 0 ]] || { say "installing Slurm needs root"; exit 1; }
    say "installing slurm-wlm and munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
}

write_conf() {
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
    local cpus mem
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
    cat >"$CONF" <<EOF
ClusterName=altsim-local
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=$((6817 + 100))
SlurmdPort=$((6818 + 100))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
AccountingStorageType=accounting_storage/none
MinJobAge=600
NodeName=$NODE CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

running() {
    [[ -f $DIR/slurmctld.pid ]] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null
}

start() {
    install
    [[ $(id -u) -eq 0 ]] || { say "starting the daemons needs root"; exit 1; }
    if running; then
        say "already running ($CONF)"
        return
    fi
    write_conf
    if ! pgrep -x munged >/dev/null; then
        mkdir -p /run/munge && chown munge:munge /run/munge
        [[ -f /etc/munge/munge.key ]] || { mungekey --create >/dev/null 2>&1 || \
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; \
            chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
        su -s /bin/sh munge -c munged
    fi
    slurmctld -f "$CONF"
    slurmd -f "$CONF"
    # The node is up once it reports idle (a hang guard, not a pause for work).
    for _ in $(seq 600); do
        if SLURM_CONF=$CONF sinfo -h -o %t 2>/dev/null | grep -qx idle; then
            say "up: one node ($NODE), $(nproc) CPUs; SLURM_CONF=$CONF"
            return
        fi
        sleep 0.1
    done
    say "the node did not come up; see $DIR/log"
    exit 1
}

stop() {
    for d in slurmd slurmctld; do
        local pid=$DIR/$d.pid
        if [[ -f $pid ]]; then
            kill "$(cat "$pid")" 2>/dev/null || true
            rm -f "$pid"
        fi
    done
    say "stopped"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    status)
        if running; then SLURM_CONF=$CONF sinfo; else say "not running"; exit 1; fi
        ;;
    *)
        echo "usage: $0 start|stop|status|env" >&2
        exit 2
        ;;
esac
