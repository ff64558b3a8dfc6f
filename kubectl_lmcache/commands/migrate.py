"""`kubectl lmcache migrate`: the reference operator's resources as the chart's values.

    kubectl get lmcacheengines,cacheblendengines,lmcachecoordinators -A -o yaml \
        | kubectl lmcache migrate -f -
    kubectl lmcache migrate -f engines.yaml -f coordinator.yaml [-o DIR] [--adopt]
    kubectl lmcache migrate [-n NS | -A] -o DIR          # read the live cluster

One values file per namespace: printed when there is one namespace and no -o, written as
DIR/<namespace>.yaml with -o. Every field not carried over is a warning on stderr naming
the resource and the path; malformed input exits 1 without writing anything.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..kube import ApiStatusError
from ..migrate import OPERATOR_KINDS, MigrateError, Migration, convert, dump, load_documents
from .common import Context, UsageError, target


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "migrate",
        parents=parents,
        help="convert the operator's LMCacheEngine/CacheBlendEngine/LMCacheCoordinator"
        " resources into chart values",
        description="Convert the reference operator's resources into values for the lmcache"
        " chart, one values file per namespace. Reads -f files (- for stdin) or, without -f,"
        " the live cluster. See docs/migrate.md for the handover.",
    )
    p.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="FILE",
        help="YAML/JSON with resources, a List or a stream; - reads stdin (repeatable)",
    )
    p.add_argument("-A", "--all-namespaces", action="store_true", help="live: every namespace")
    p.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="write DIR/<namespace>.yaml (required when resources span namespaces)",
    )
    p.add_argument(
        "--adopt",
        action="store_true",
        help="set adoptOperatorObjects on every entry: Helm then takes the operator's"
        " DaemonSets and Deployments over instead of replacing them (docs/migrate.md)",
    )
    p.set_defaults(run=run)


def _read_files(names: list[str], stdin: Any) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for name in names:
        origin = "<stdin>" if name == "-" else name
        try:
            text = stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{name}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            # YAML and JSON are UTF-8 (what kubectl writes); say where, not a traceback.
            raise UsageError(
                f"{origin}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset"
                f" {exc.start})"
            ) from None
        resources.extend(load_documents(text, origin))
    return resources


def _read_cluster(args: argparse.Namespace, ctx: Context) -> tuple[list[dict[str, Any]], str]:
    kube = ctx.connect(target(args))
    namespace = None if args.all_namespaces else (args.namespace or kube.namespace)
    resources: list[dict[str, Any]] = []
    for kind in OPERATOR_KINDS:
        try:
            items = kube.list(kind, namespace)
        except ApiStatusError as exc:
            if exc.code == 404:  # that CRD is not installed: nothing of that kind
                continue
            raise
        for item in items:
            # list items carry no kind/apiVersion of their own
            resources.append(
                {"apiVersion": f"{kind.group}/{kind.version}", "kind": kind.kind, **item}
            )
    return resources, namespace or kube.namespace


def run(args: argparse.Namespace, ctx: Context, stdin: Any = None) -> int:
    try:
        if args.filename:
            resources = _read_files(args.filename, stdin or sys.stdin)
            default_namespace = args.namespace or "default"
        else:
            resources, default_namespace = _read_cluster(args, ctx)
        migration = convert(resources, default_namespace=default_namespace, adopt=args.adopt)
    except MigrateError as exc:
        ctx.stderr.write(f"error: {exc}\n")
        return 1
    for note in migration.notes:
        ctx.warn(str(note))
    if not migration.values:
        ctx.stderr.write("No LMCacheEngine, CacheBlendEngine or LMCacheCoordinator found.\n")
        return 0
    return _write(migration, args.output_dir, ctx)


def _header(namespace: str, values: dict[str, Any]) -> str:
    count = sum(len(entries) for entries in values.values())
    adopting = any(
        entry.get("adoptOperatorObjects")
        for entries in values.values()
        for entry in entries.values()
    )
    # Adopted entries only install over the operator's objects with --take-ownership.
    flags = " --take-ownership" if adopting else ""
    return (
        f"Converted by `kubectl lmcache migrate` from {count} operator resource(s) in namespace"
        f" {namespace}.\n"
        f"helm upgrade --install <release> charts/lmcache -n {namespace} -f <this file>{flags}"
        " (the handover: docs/migrate.md)"
    )


def _write(migration: Migration, output_dir: Path | None, ctx: Context) -> int:
    if output_dir is None:
        if len(migration.values) > 1:
            raise UsageError(
                "the resources span namespaces "
                f"({', '.join(sorted(migration.values))}): give -o DIR for one file each"
            )
        ((namespace, values),) = migration.values.items()
        ctx.stdout.write(dump(values, _header(namespace, values)))
        return 0
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        for namespace, values in sorted(migration.values.items()):
            path = output_dir / f"{namespace}.yaml"
            path.write_text(dump(values, _header(namespace, values)), encoding="utf-8")
            ctx.stderr.write(f"wrote {path}\n")
    except OSError as exc:
        raise UsageError(f"-o {output_dir}: {exc.strerror}: {exc.filename}") from None
    return 0
