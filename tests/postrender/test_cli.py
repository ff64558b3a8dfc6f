"""`lmcache-postrender` as a plain stdin-to-stdout filter: exit codes, stdout, stderr, log file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.postrender import chartlike
from tests.postrender.helpers import hand_written, stream_of
from tests.support import ROOT, run_postrender

BAD = chartlike.daemonset("my-cache", extra=["--host", "127.0.0.1"])
BAD["spec"]["template"]["spec"]["volumes"] = [{"name": "shm", "emptyDir": {}}]
BAD["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
    {"name": "shm", "mountPath": "/dev/shm"}
]
BAD_STREAM = stream_of(BAD)
GOOD_STREAM = chartlike.engines_stream(2)


@pytest.fixture
def log(tmp_path):
    return tmp_path / "postrender.log"


def test_a_valid_stream_is_written_to_stdout_unchanged(log):
    proc = run_postrender(GOOD_STREAM, "--log", str(log))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == GOOD_STREAM
    assert proc.stderr == ""
    assert "ok: 10 objects, 2 LMCache workloads, helm3 input" in log.read_text()


def test_errors_exit_non_zero_with_empty_stdout_and_every_error_on_stderr(log):
    proc = run_postrender(BAD_STREAM, env={"LMCACHE_POSTRENDER_LOG": str(log)})
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines == [
        "lmcache-postrender: error: DaemonSet/my-cache: engines.my-cache.extraArgs: --host"
        " 127.0.0.1 conflicts with --host 0.0.0.0, which the server needs (the node-local Service"
        " must reach the ZMQ port); remove it",
        "lmcache-postrender: error: DaemonSet/my-cache: engines.my-cache.volumeMounts: container"
        " lmcache mounts emptyDir volume 'shm' at /dev/shm: it hides the host's /dev/shm (shared"
        " through hostIPC) and breaks CUDA IPC; remove the volume and its mount",
        f"lmcache-postrender: 2 errors; nothing was written to stdout (report: {log})",
    ]


def test_the_log_file_holds_the_same_report(log):
    proc = run_postrender(BAD_STREAM, "--log", str(log))
    report = log.read_text().splitlines()
    assert "failed: 1 objects, 1 LMCache workloads, helm3 input" in report[0]
    assert report[1:] == proc.stderr.splitlines()[:2] + [
        "lmcache-postrender: 2 errors; nothing was written to stdout"
    ]


def test_the_default_log_is_a_fixed_per_user_path_in_the_temp_dir(tmp_path):
    env = {"TMPDIR": str(tmp_path), "LMCACHE_POSTRENDER_LOG": ""}
    proc = run_postrender(BAD_STREAM, env=env)
    path = tmp_path / f"lmcache-postrender-{os.getuid()}.log"
    assert f"(report: {path})" in proc.stderr
    assert "conflicts with --host 0.0.0.0" in path.read_text()


def test_an_unwritable_log_is_reported_but_not_fatal(tmp_path):
    proc = run_postrender(GOOD_STREAM, "--log", str(tmp_path / "missing" / "x.log"))
    assert proc.returncode == 0
    assert proc.stdout == GOOD_STREAM
    assert "cannot write the log" in proc.stderr


def test_fixes_are_warnings_on_stderr_and_the_fixed_stream_on_stdout(log):
    proc = run_postrender(stream_of(hand_written()), "--log", str(log))
    assert proc.returncode == 0
    assert "hostIPC: true" in proc.stdout
    assert all(
        line.startswith("lmcache-postrender: warning: ") for line in proc.stderr.splitlines()
    )
    assert "spec.template.spec.hostIPC: set to true" in log.read_text()


def test_malformed_yaml_is_a_one_line_error_without_traceback(log):
    proc = run_postrender("---\na: [1\n", "--log", str(log))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0] == (
        "lmcache-postrender: error: stdin: document 1, line 3, column 1: not valid YAML: did not"
        " find expected ',' or ']'"
    )


def test_input_that_is_not_utf8_is_a_clean_error(log):
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "lmcache-postrender"), "--log", str(log)],
        input=b"a: \xff\n",
        capture_output=True,
    )
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert b"not UTF-8 text (byte 3)" in proc.stderr


def test_check_prints_nothing_and_passes_a_fixed_point(log):
    proc = run_postrender(GOOD_STREAM, "--check", "--log", str(log))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_check_fails_a_stream_that_would_change(log):
    proc = run_postrender(stream_of(hand_written()), "--check", "--log", str(log))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "the stream is not a fixed point" in proc.stderr


def test_warnings_as_errors_turns_fixes_into_failures(log):
    proc = run_postrender(stream_of(hand_written()), "--warnings-as-errors", "--log", str(log))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "error: DaemonSet/my-cache: spec.template.spec.hostIPC: set to true" in proc.stderr


def test_an_unknown_option_is_a_usage_error_that_is_logged(tmp_path):
    log = tmp_path / "x.log"
    proc = run_postrender("", "--bogus", env={"LMCACHE_POSTRENDER_LOG": str(log)})
    assert proc.returncode == 2
    assert "unrecognized arguments: --bogus" in proc.stderr
    assert "unrecognized arguments: --bogus" in log.read_text()


def test_python_dash_m_is_the_same_program(log):
    proc = subprocess.run(
        [sys.executable, "-m", "postrender", "--log", str(log)],
        input=BAD_STREAM,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == run_postrender(BAD_STREAM, "--log", str(log)).stderr


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux script for a pty")
def test_under_the_helm4_plugin_errors_also_reach_the_terminal(tmp_path):
    stream = tmp_path / "in.yaml"
    stream.write_text(BAD_STREAM)
    exe = ROOT / ".venv" / "bin" / "lmcache-postrender"
    # stdout and stderr go to files, as Helm 4 captures them; the pty stands in for the user's
    inner = (
        f"{exe} --log {tmp_path / 'l.log'} < {stream} > {tmp_path / 'out'} 2> {tmp_path / 'err'}"
    )
    env = {**os.environ, "LMCACHE_POSTRENDER_PLUGIN": "helm4"}
    proc = subprocess.run(
        ["script", "-qec", inner, "/dev/null"], capture_output=True, text=True, env=env, timeout=60
    )
    assert "conflicts with --host 0.0.0.0" in proc.stdout  # what the terminal showed
    assert (tmp_path / "out").read_text() == ""
    env["LMCACHE_POSTRENDER_TTY"] = "0"
    proc = subprocess.run(
        ["script", "-qec", inner, "/dev/null"], capture_output=True, text=True, env=env, timeout=60
    )
    assert "conflicts" not in proc.stdout


def test_an_internal_error_fails_cleanly_with_the_traceback_in_the_log(log, tmp_path):
    # make the pipeline itself raise: a sitecustomize that breaks postrender.pipeline.process
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import postrender.pipeline as p\n"
        "def boom(*a, **k):\n    raise RuntimeError('boom')\n"
        "p.process = boom\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])}
    proc = run_postrender(GOOD_STREAM, "--log", str(log), env=env)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "internal error (RuntimeError: boom); please report it" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Traceback (most recent call last)" in log.read_text()
