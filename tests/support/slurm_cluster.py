"""A throwaway single-node SLURM cluster on localhost, for tests.

Starts a private munged, slurmctld and slurmd from Debian's packages (slurmctld, slurmd,
slurm-client, munge) with every file under one directory: its own munge key and socket,
its own ports, its own state and spool directories. No system SLURM or munge configuration
is read and nothing under /etc is written, so a cluster a site already runs on this machine
is left alone, and two test sessions can each run their own.

This machine has no systemd and no cgroup delegation, hence proctrack/linuxproc and
task/none. There is no slurmdbd (accounting_storage/none), so `sacct` cannot report jobs:
the SLURM executor plugin has to poll with `squeue`, which it only trusts while
MinJobAge >= 3 x its init seconds; MinJobAge is set far above that.

Usage::

    with slurm_cluster(tmp_path / "slurm", partition="compute") as cluster:
        subprocess.run(["sbatch", ...], env=cluster.env)

Everything started is stopped by PID on exit, jobs first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")

# Memory left to the OS and the daemons when declaring the node's RealMemory: slurmd
# drains a node whose configured memory exceeds what it finds.
MEMORY_MARGIN_MB = 1024

# sockaddr_un.sun_path holds 108 bytes on Linux, terminator included.
UNIX_SOCKET_PATH_MAX = 107


def unavailable_reason() -> str | None:
    """Why no cluster can be started here, or None when it can."""
    if os.geteuid() != 0:
        return (
            "a local SLURM cluster needs root (munged, slurmctld and slurmd run as root "
            "with SlurmUser=root); .ci/run runs this test as root"
        )
    missing = [name for name in DAEMONS + CLIENTS if _find_binary(name) is None]
    if missing:
        return (
            f"SLURM/munge binaries not found: {', '.join(missing)} "
            "(Debian: apt-get install slurmctld slurmd slurm-client munge)"
        )
    return None


def _find_binary(name: str) -> str | None:
    # Debian installs the daemons in /usr/sbin, which a non-login PATH may lack.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _total_memory_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("MemTotal missing from /proc/meminfo")


@dataclass
class SlurmCluster:
    """A running single-node cluster; `env` is what client commands need (SLURM_CONF)."""

    root: Path
    conf_path: Path
    partition: str
    cpus: int
    memory_mb: int
    gpus: int
    min_job_age_s: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf_path)
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
        # A SLURM job context leaking in from an outer allocation would make the
        # executor plugin strip and rewrite the environment; this cluster is standalone.
        for name in list(env):
            if name.startswith(("SLURM_JOB", "SLURM_STEP", "SBATCH_", "SRUN_")):
                del env[name]
        return env

    def run(self, args: Sequence[str], timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client command against this cluster; raises on a non-zero exit."""
        return subprocess.run(
            list(args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of every daemon log, for failure messages."""
        parts = []
        for log_path in sorted((self.root / "log").glob("*.log")):
            text = log_path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log_path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def node_state(self) -> str:
        result = self.run(["sinfo", "--noheader", "--Node", "--format=%t"], timeout_s=10)
        return result.stdout.strip()


def _write_munge_key(path: Path) -> None:
    # A private key (munged accepts any 32..1024 random bytes); munged refuses a key that
    # others can read or that is not owned by its own user.
    path.write_bytes(os.urandom(1024))
    path.chmod(0o400)


def _write_client_wrappers(bin_dir: Path, conf_path: Path) -> None:
    # Inside a job, snakemake-executor-plugin-slurm-jobstep removes every SLURM_* variable
    # (SLURM_CONF too) before it calls srun, so srun there looks for /etc/slurm/slurm.conf,
    # which a real cluster has. This private cluster leaves /etc alone and puts these
    # wrappers first on the PATH its jobs inherit instead.
    for name in CLIENTS + ("sacct",):
        target = _find_binary(name)
        if target is None:
            continue
        wrapper = bin_dir / name
        wrapper.write_text(
            f'#!/bin/sh\nSLURM_CONF="{conf_path}" exec "{target}" "$@"\n', encoding="utf-8"
        )
        wrapper.chmod(0o755)


def _slurm_conf(
    *,
    root: Path,
    munge_socket: Path,
    partition: str,
    cpus: int,
    memory_mb: int,
    gpus: int,
    min_job_age_s: int,
    ctld_port: int,
    slurmd_port: int,
) -> str:
    gres_node = f" Gres=gpu:{gpus}" if gpus else ""
    lines = [
        "ClusterName=igsedtest",
        "SlurmctldHost=localhost(127.0.0.1)",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'run' / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        # No systemd, no cgroup delegation on this machine.
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "MailProg=/bin/true",
        "SelectType=select/cons_tres",
        # Memory is a consumable, so a job asking for more than the node has is
        # rejected at sbatch time, as on a real cluster.
        "SelectTypeParameters=CR_Core_Memory",
        "SchedulerType=sched/builtin",
        # squeue must still list a finished job when the executor plugin next polls.
        f"MinJobAge={min_job_age_s}",
        # A node that was down comes back by itself when slurmd registers.
        "ReturnToService=2",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=30",
        "InactiveLimit=0",
        "KillWait=5",
        "Waittime=0",
        *(["GresTypes=gpu"] if gpus else []),
        (
            f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb}"
            f"{gres_node} State=UNKNOWN"
        ),
        f"PartitionName={partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
    ]
    return "\n".join(lines) + "\n"


def _start(
    name: str, args: Sequence[str], cluster: SlurmCluster, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    out_path = cluster.root / "log" / f"{name}.out"
    with open(out_path, "wb") as out:
        process = subprocess.Popen(
            list(args),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Own session: a Ctrl-C in the test's terminal must not kill the daemons
            # before the context manager has cancelled the jobs.
            start_new_session=True,
        )
    cluster.processes[name] = process
    logger.info("started %s (pid %d)", name, process.pid)
    return process


def _wait_for(
    what: str,
    ready: Callable[[], bool],
    cluster: SlurmCluster,
    timeout_s: float,
    poll_s: float = 0.2,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with status {process.returncode} while waiting for "
                    f"{what}\n{cluster.log_tail()}\n{_out_tail(cluster)}"
                )
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            if ready():
                return
        time.sleep(poll_s)
    raise TimeoutError(
        f"timed out after {timeout_s:.0f} s waiting for {what}\n"
        f"{cluster.log_tail()}\n{_out_tail(cluster)}"
    )


def _out_tail(cluster: SlurmCluster, lines: int = 20) -> str:
    parts = []
    for out_path in sorted((cluster.root / "log").glob("*.out")):
        text = out_path.read_text(errors="replace").splitlines()[-lines:]
        if text:
            parts.append(f"--- {out_path.name}\n" + "\n".join(text))
    return "\n".join(parts)


def _cancel_jobs(cluster: SlurmCluster, timeout_s: float) -> None:
    if cluster.processes.get("slurmctld") is None:
        return
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        cluster.run(["scancel", "--full", f"--partition={cluster.partition}"], timeout_s=10)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            queued = cluster.run(
                ["squeue", "--noheader", "--states=PENDING,RUNNING,COMPLETING,CONFIGURING"],
                timeout_s=10,
            )
            if not queued.stdout.strip():
                return
            time.sleep(0.5)
        logger.warning("jobs still listed %.0f s after scancel", timeout_s)


def _stray_pids(conf_path: Path) -> list[int]:
    """Live processes (job steps, a killed run's children) that still point at this cluster."""
    marker = f"SLURM_CONF={conf_path}".encode()
    own = os.getpid()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == own:
            continue
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if state != "Z" and marker in environ:
            pids.append(int(proc.name))
    return pids


def _kill_strays(conf_path: Path, timeout_s: float) -> None:
    pids = _stray_pids(conf_path)
    if not pids:
        return
    logger.warning("terminating processes left over by the test cluster: %s", pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _stray_pids(conf_path):
        time.sleep(0.2)
    for pid in _stray_pids(conf_path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stop(name: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        logger.warning("%s (pid %d) ignored SIGTERM; killing it", name, process.pid)
        process.kill()
        process.wait(timeout=timeout_s)
    logger.info("stopped %s (pid %d)", name, process.pid)


@contextlib.contextmanager
def slurm_cluster(
    root: Path,
    *,
    partition: str = "compute",
    cpus: int | None = None,
    gpus: int = 1,
    min_job_age_s: int = 300,
    start_timeout_s: float = 30,
) -> Iterator[SlurmCluster]:
    """Run a single-node SLURM cluster whose files all live under `root`.

    `cpus` defaults to this machine's CPU count. `gpus` > 0 declares count-only GPU GRES
    (no device files): enough for sbatch --gpus=N to be accepted and scheduled, so a
    test can check what the executor asks for; nothing can use a GPU through it.
    Raises RuntimeError (with the daemons' log tails) when the node is not idle within
    `start_timeout_s`; stops every process it started, by PID, on exit.
    """
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    root = Path(root).resolve()
    for sub in ("state", "spool", "run", "log", "munge", "bin"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # munged refuses a socket or key directory that others can write to, and warns
    # when others cannot traverse to its socket.
    root.chmod(0o755)
    (root / "munge").chmod(0o755)

    munge_key = root / "munge" / "munge.key"
    munge_socket = root / "munge" / "munge.socket"
    if len(str(munge_socket)) > UNIX_SOCKET_PATH_MAX:
        raise ValueError(
            f"cluster root {root} is too deep for munged's socket path "
            f"(> {UNIX_SOCKET_PATH_MAX} characters); use a shorter directory"
        )
    _write_munge_key(munge_key)

    cluster = SlurmCluster(
        root=root,
        conf_path=root / "slurm.conf",
        partition=partition,
        cpus=cpus or os.cpu_count() or 1,
        memory_mb=max(512, _total_memory_mb() - MEMORY_MARGIN_MB),
        gpus=gpus,
        min_job_age_s=min_job_age_s,
    )
    cluster.conf_path.write_text(
        _slurm_conf(
            root=root,
            munge_socket=munge_socket,
            partition=partition,
            cpus=cluster.cpus,
            memory_mb=cluster.memory_mb,
            gpus=gpus,
            min_job_age_s=min_job_age_s,
            ctld_port=_free_port(),
            slurmd_port=_free_port(),
        )
    )
    _write_client_wrappers(root / "bin", cluster.conf_path)
    if gpus:
        # slurmd reads gres.conf beside slurm.conf. It counts a GPU only with a device file;
        # /dev/null stands in for one.
        (root / "gres.conf").write_text(
            f"NodeName=localhost Name=gpu File=/dev/null Count={gpus}\n"
        )

    env = cluster.env
    try:
        _start(
            "munged",
            [
                _find_binary("munged") or "munged",
                "--foreground",
                # Go on despite what munged merely warns about (e.g. running as root).
                "--force",
                f"--socket={munge_socket}",
                f"--key-file={munge_key}",
                f"--pid-file={root / 'run' / 'munged.pid'}",
                f"--log-file={root / 'log' / 'munged.log'}",
                f"--seed-file={root / 'munge' / 'munged.seed'}",
            ],
            cluster,
            env,
        )
        _wait_for("the munge socket", munge_socket.exists, cluster, start_timeout_s)
        _start(
            "slurmctld",
            [_find_binary("slurmctld") or "slurmctld", "-D", "-c", "-f", str(cluster.conf_path)],
            cluster,
            env,
        )
        _start(
            "slurmd",
            [
                _find_binary("slurmd") or "slurmd",
                "-D",
                "-N",
                "localhost",
                "-f",
                str(cluster.conf_path),
            ],
            cluster,
            env,
        )
        _wait_for(
            "the node to be idle",
            lambda: cluster.node_state() == "idle",
            cluster,
            start_timeout_s,
        )
        logger.info(
            "SLURM cluster up: partition %s, %d CPUs, %d MB, %d GPU GRES",
            partition,
            cluster.cpus,
            cluster.memory_mb,
            gpus,
        )
        yield cluster
    finally:
        _cancel_jobs(cluster, timeout_s=15)
        for name in reversed(DAEMONS):
            process = cluster.processes.get(name)
            if process is not None:
                _stop(name, process, timeout_s=15)
        _kill_strays(cluster.conf_path, timeout_s=5)
