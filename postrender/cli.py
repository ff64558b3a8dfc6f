"""`lmcache-postrender`: the edge where the pipeline meets stdin, stdout, stderr and the log.

    lmcache-postrender [--check] [--warnings-as-errors] [--log FILE] < rendered.yaml

Helm 3 runs it as `--post-renderer lmcache-postrender` and shows its stderr when it fails.
Helm 4 runs it through the `lmcache` plugin and throws both stdout and stderr away on
failure, printing only `plugin "lmcache" exited with error`. So every run also writes its
report to a log file (`--log`, else $LMCACHE_POSTRENDER_LOG, else a fixed per-user path in
the temp directory), and under the Helm 4 plugin the errors also go to the terminal
(/dev/tty) when there is one.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

LOG_ENV = "LMCACHE_POSTRENDER_LOG"
PLUGIN_ENV = "LMCACHE_POSTRENDER_PLUGIN"  # set by plugins/lmcache/postrender.sh
TTY_ENV = "LMCACHE_POSTRENDER_TTY"  # "0" keeps the Helm 4 plugin off the terminal
PROG = "lmcache-postrender"
# Written instead of nothing: Helm 4 fails a release whose post-renderer output is empty
# ("produced empty output"), so a release with no objects (no engines yet, or an upgrade
# that removes the last one) could not be installed or upgraded. Helm 3 and 4 both read a
# comment as a stream with no objects.
EMPTY_STREAM = "# lmcache-postrender: the stream holds no objects\n"


def default_log_path() -> str:
    tmp = os.environ.get("TMPDIR") or "/tmp"
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return os.path.join(tmp, f"lmcache-postrender-{uid}.log")


def log_path(option: str | None) -> str:
    return option or os.environ.get(LOG_ENV) or default_log_path()


class _Parser(argparse.ArgumentParser):
    def __init__(self) -> None:
        super().__init__(
            prog=PROG,
            description="Validate and enforce the LMCache invariants on a rendered manifest"
            " stream (stdin to stdout).",
        )

    def error(self, message: str) -> None:  # type: ignore[override]
        # Helm passes --post-renderer-args through: a typo there must be reachable in the log
        _write_log(log_path(None), [f"{PROG}: error: {message}"], "usage error")
        super().error(message)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser()
    parser.add_argument(
        "--check",
        action="store_true",
        help="only report: print nothing, exit 1 when the stream has errors or would change",
    )
    parser.add_argument(
        "--warnings-as-errors", action="store_true", help="fail on warnings and fix-ups too"
    )
    parser.add_argument(
        "--log",
        metavar="FILE",
        help=f"where the report of each run is written (default ${LOG_ENV}, else"
        f" {default_log_path()})",
    )
    return parser.parse_args(argv)


def _write_log(path: str, lines: list[str], status: str) -> str | None:
    """Overwrite the log with this run's report; returns a problem instead of raising."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    text = f"{stamp} {PROG} (pid {os.getpid()}): {status}\n" + "".join(f"{ln}\n" for ln in lines)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        return f"{PROG}: cannot write the log {path}: {exc.strerror or exc}"
    return None


def _to_terminal(lines: list[str]) -> None:
    """Helm 4 hides the plugin's stderr: show the errors on the user's terminal directly."""
    if os.environ.get(PLUGIN_ENV) != "helm4" or os.environ.get(TTY_ENV) == "0":
        return
    try:
        with open("/dev/tty", "w", encoding="utf-8") as tty:
            tty.write("".join(f"{ln}\n" for ln in lines))
    except OSError:
        pass  # no controlling terminal (CI): the log file is the way


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    path = log_path(args.log)
    try:
        text = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        return _fail(path, [f"{PROG}: error: stdin: not UTF-8 text (byte {exc.start})"])

    from postrender.pipeline import process

    try:
        outcome = process(text, warnings_as_errors=args.warnings_as_errors)
    except Exception as exc:  # a bug must still fail cleanly: no partial stream, a report
        import traceback

        detail = traceback.format_exc().rstrip().splitlines()
        return _fail(
            path,
            [f"{PROG}: error: internal error ({type(exc).__name__}: {exc}); please report it"],
            "internal error",
            detail,
        )
    warnings = [f"{PROG}: warning: {w}" for w in outcome.warnings]
    errors = [f"{PROG}: error: {e}" for e in outcome.errors]
    if args.check and outcome.ok and outcome.changed:
        errors.append(
            f"{PROG}: error: the stream is not a fixed point: the warnings above are the changes"
        )
    summary = (
        f"{outcome.objects} objects, {outcome.workloads} LMCache workloads, {outcome.dialect} input"
    )
    if errors:
        return _fail(path, warnings + errors, summary)
    problem = _write_log(path, warnings, f"ok: {summary}")
    out = [*warnings, problem] if problem else warnings
    if out:
        sys.stderr.write("".join(f"{ln}\n" for ln in out))
    if not args.check and outcome.output is not None:
        sys.stdout.write(outcome.output if outcome.output.strip() else EMPTY_STREAM)
        sys.stdout.flush()
    return 0


def _fail(path: str, lines: list[str], summary: str = "", detail: list[str] | None = None) -> int:
    count = sum(1 for ln in lines if ": error: " in ln)
    tail = f"{PROG}: {count} error{'s' if count != 1 else ''}; nothing was written to stdout"
    logged = [*lines, tail, *(detail or [])]
    problem = _write_log(path, logged, f"failed: {summary}" if summary else "failed")
    tail += f" (report: {path})" if problem is None else ""
    report = [*lines, tail] + ([problem] if problem else [])
    sys.stderr.write("".join(f"{ln}\n" for ln in report))
    _to_terminal(report)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
