#!/usr/bin/env bash
# A real single-node SLURM (with accounting) for the cluster tests, on a Debian machine as root
# without systemd: every daemon is started in the background, its PID recorded, and stopped by PID.
#
#   tests/cluster/slurm.sh install        apt packages (SLURM 22.05, munge, slurmdbd, MariaDB)
#   tests/cluster/slurm.sh up [--gpus N]  start munge, MariaDB, slurmdbd, slurmctld, slurmd;
#                                         N > 0 gives the node N fake GPUs (gres on /dev/null),
#                                         so GPU requests are accepted; N = 0 is a CPU-only cluster.
#                                         Run again to switch: only slurmctld and slurmd restart.
#   tests/cluster/slurm.sh down           stop every daemon this script started, by PID
#   tests/cluster/slurm.sh status         the node and its GPUs, as SLURM sees them
#
# Not for a real site: it writes /etc/slurm/slurm.conf and runs the daemons as root.
set -euo pipefail

STATE=${EINET_SLURM_STATE:-/var/tmp/einet-slurm}
CLUSTER=einet-test
DB_PASSWORD=einet-test-only

log() { echo "slurm.sh: $*" >&2; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null; then
        log "packages already installed"
        return
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        slurmctld slurmd slurm-client munge slurmdbd mariadb-server
}

# start NAME COMMAND...: run a daemon in the foreground mode of its own, in the background, PID to $STATE/NAME.pid
start() {
    local name=$1
    shift
    "$@" >"$STATE/$name.log" 2>&1 &
    echo $! >"$STATE/$name.pid"
}

alive() { [[ -f "$STATE/$1.pid" ]] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

stop() {
    local name=$1 pid
    alive "$name" || { rm -f "$STATE/$name.pid"; return 0; }
    pid=$(cat "$STATE/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$STATE/$name.pid"
}

# wait_for DESCRIPTION COMMAND...: retry for up to 30 s
wait_for() {
    local what=$1
    shift
    for _ in $(seq 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    log "timed out waiting for $what"
    tail -n 20 "$STATE"/*.log >&2 || true
    return 1
}

write_slurm_conf() {
    local gpus=$1 cpus memory gres_node=""
    cpus=$(nproc)
    # leave the operating system 1 GB; jobs that give no --mem get 1 GB a CPU (DefMemPerCPU)
    memory=$(($(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024))
    if ((gpus > 0)); then
        gres_node="Gres=gpu:$gpus"
        : >/etc/slurm/gres.conf
        for i in $(seq 0 $((gpus - 1))); do echo "NodeName=localhost Name=gpu File=/dev/null" >>/etc/slurm/gres.conf; done
    else
        rm -f /etc/slurm/gres.conf
    fi
    cat >/etc/slurm/slurm.conf <<EOF
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.slurmpid
SlurmdPidFile=$STATE/slurmd.slurmpid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
MinJobAge=600
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
SlurmctldTimeout=30
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN $gres_node
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start_accounting() {
    mkdir -p /run/munge /run/mysqld
    chown munge:munge /run/munge
    chown mysql:mysql /run/mysqld
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged --force
        wait_for munge sh -c 'munge -n | unmunge'
    fi
    if ! alive mariadb; then
        start mariadb /usr/sbin/mariadbd --user=mysql --skip-networking=0 --bind-address=127.0.0.1
        wait_for MariaDB mariadb -e 'select 1'
        mariadb <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
EOF
    fi
    if ! alive slurmdbd; then
        cat >/etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$STATE/slurmdbd.slurmpid
LogFile=$STATE/slurmdbd.daemon.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
EOF
        chmod 600 /etc/slurm/slurmdbd.conf
        start slurmdbd /usr/sbin/slurmdbd -D
        wait_for slurmdbd sacctmgr -n list cluster
    fi
}

up() {
    local gpus=0
    while (($#)); do
        case $1 in
        --gpus) gpus=$2; shift 2 ;;
        *) log "unknown option $1 (expected --gpus N)"; exit 2 ;;
        esac
    done
    mkdir -p "$STATE/ctld" "$STATE/d" /etc/slurm
    write_slurm_conf "$gpus"
    start_accounting
    sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
    stop slurmd
    stop slurmctld
    start slurmctld /usr/sbin/slurmctld -D -i
    wait_for slurmctld scontrol ping
    start slurmd /usr/sbin/slurmd -D -N localhost
    wait_for "the node" sh -c 'sinfo -h -N -o %t | grep -Eq "^(idle|mix|alloc)"'
    scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
    log "up: $(sinfo -h -N -o '%N %t cpus=%c mem=%m gres=%G')"
}

down() {
    stop slurmd
    stop slurmctld
    stop slurmdbd
    stop mariadb
    if [[ -f /run/munge/munged.pid ]]; then
        kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    fi
    log "down"
}

case ${1:-} in
install) install_packages ;;
up) shift; up "$@" ;;
down) down ;;
status) sinfo -h -N -o '%N %t cpus=%c mem=%m gres=%G' ;;
*) log "usage: $0 install | up [--gpus N] | down | status"; exit 2 ;;
esac
