"""`lmcache-webhook`: serve the injection webhook over HTTPS.

Every flag can also be given as an environment variable named
`LMCACHE_WEBHOOK_<FLAG_IN_UPPER_SNAKE_CASE>` (`--engine-namespace` ->
`LMCACHE_WEBHOOK_ENGINE_NAMESPACE`); a flag on the command line wins over the variable.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

import httpx
import uvicorn
from fastapi import FastAPI

from webhook.kube import KubeApiError, KubeClient, KubeConfig, own_namespace
from webhook.metrics import Metrics
from webhook.podsecurity import NamespaceLevels
from webhook.resolver import EngineResolver
from webhook.server import create_app
from webhook.tls import ReloadingTLS

ENV_PREFIX = "LMCACHE_WEBHOOK_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Longer than the API server's idle-connection timeout, so the client always closes an
# idle connection first and never sends a request down a socket the server just closed.
DEFAULT_KEEP_ALIVE = 120


def _env(flag: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper(), default)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0 (got {text})")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (got {text})")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lmcache-webhook",
        description="Mutating admission webhook that wires vLLM pods to LMCache engines: "
        "the CacheBlend plugin and connection (POST /mutate) or the plain LMCache "
        "connection (POST /mutate-lmcache).",
        epilog=f"Each flag may also be set through {ENV_PREFIX}<FLAG> (e.g. "
        f"{ENV_PREFIX}ENGINE_NAMESPACE).",
    )

    def add(flag: str, default: str | None, help_text: str, **kwargs: object) -> None:
        parser.add_argument(flag, default=_env(flag, default), help=help_text, **kwargs)  # type: ignore[arg-type]

    add("--host", "0.0.0.0", "address to listen on (default: %(default)s)")
    add("--port", "8443", "HTTPS port for every endpoint (default: %(default)s)", type=int)
    add("--tls-cert", "/tls/tls.crt", "serving certificate, reloaded when it changes")
    add("--tls-key", "/tls/tls.key", "private key of --tls-cert")
    add(
        "--engine-namespace",
        None,
        "namespace the CacheBlend engines run in; bare engine names are looked up in the "
        "pod's namespace first, then here (default: this pod's namespace)",
    )
    add("--log-level", "INFO", "DEBUG, INFO, WARNING or ERROR", type=str.upper, choices=LOG_LEVELS)
    add("--cache-ttl", "30", "seconds an engine's ConfigMap is served from memory", type=_positive)
    add(
        "--keep-alive-timeout",
        str(DEFAULT_KEEP_ALIVE),
        "seconds an idle HTTPS connection is kept open",
        type=_positive,
    )
    add(
        "--shutdown-delay",
        "3",
        "seconds to keep serving after SIGTERM while /readyz reports 503, so the Service "
        "stops routing here before the listener closes",
        type=_non_negative,
    )
    add("--kube-api-url", None, "Kubernetes API URL (default: from KUBERNETES_SERVICE_HOST/PORT)")
    add("--kube-token-file", None, "service-account token file (re-read on every API call)")
    add("--kube-ca-file", None, "CA bundle for the Kubernetes API")
    parser.add_argument(
        "--delete-configuration",
        metavar="NAME",
        help="delete the MutatingWebhookConfiguration NAME and exit instead of serving (the "
        "chart's pre-delete hook: Helm does not delete the configuration it created as a "
        "post-install hook). Exit 0 when it is gone or was never there, 1 when the API refuses",
    )
    return parser


class _DrainingServer(uvicorn.Server):
    """uvicorn.Server that keeps serving for a while after SIGTERM.

    Endpoints are removed from the Service asynchronously; closing the listener at once
    would drop admission requests that are already on their way, and with
    failurePolicy: Ignore those pods would start without the plugin.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI, delay: float) -> None:
        super().__init__(config)
        self._app = app
        self._delay = delay
        self._timer: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._delay <= 0 or self._timer is not None:
            super().handle_exit(sig, frame)
            return
        logging.getLogger(__name__).info(
            "signal %s: draining for %.0f s before shutdown", signal.Signals(sig).name, self._delay
        )
        self._app.state.draining = True
        self._timer = threading.Timer(self._delay, super().handle_exit, args=(sig, frame))
        self._timer.daemon = True
        self._timer.start()


def build_server(
    app: FastAPI,
    tls: ReloadingTLS,
    *,
    host: str,
    port: int,
    keep_alive: float = DEFAULT_KEEP_ALIVE,
    shutdown_delay: float = 0.0,
    log_level: str = "INFO",
) -> uvicorn.Server:
    """A uvicorn server that serves `app` with the reloading TLS context."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level=log_level.lower(),
        access_log=False,
        timeout_keep_alive=int(keep_alive),
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    config.load()
    # Set after load(): uvicorn would otherwise build its own context from file names and
    # never look at the files again.
    config.ssl = tls.context
    return _DrainingServer(config, app, shutdown_delay)


def _delete_configuration(args: argparse.Namespace, log: logging.Logger) -> int:
    """The pre-delete hook: remove the webhook configuration before its server goes away,
    so that after `helm uninstall` no pod is sent to (and, with failurePolicy Fail,
    rejected by) a webhook that no longer exists."""
    try:
        config = KubeConfig.in_cluster(
            api_url=args.kube_api_url, token_file=args.kube_token_file, ca_file=args.kube_ca_file
        )
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    kube = KubeClient(config, timeout=httpx.Timeout(10.0, connect=5.0))

    async def run() -> bool:
        try:
            return await kube.delete_mutating_webhook_configuration(args.delete_configuration)
        finally:
            await kube.aclose()

    name = args.delete_configuration
    try:
        deleted = asyncio.run(run())
    except KubeApiError as exc:
        log.error("could not delete MutatingWebhookConfiguration %s: %s", name, exc)
        return 1
    log.info("MutatingWebhookConfiguration %s %s", name, "deleted" if deleted else "was not there")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    log = logging.getLogger("webhook")
    if args.delete_configuration:
        return _delete_configuration(args, log)

    engine_namespace = args.engine_namespace or own_namespace()
    if not engine_namespace:
        log.error("--engine-namespace is required outside a pod")
        return 2
    try:
        kube_config = KubeConfig.in_cluster(
            api_url=args.kube_api_url, token_file=args.kube_token_file, ca_file=args.kube_ca_file
        )
        tls = ReloadingTLS(args.tls_cert, args.tls_key)
    except (ValueError, OSError) as exc:
        log.error("%s", exc)
        return 2

    kube = KubeClient(kube_config)
    metrics = Metrics()
    resolver = EngineResolver(
        kube.get_configmap, engine_namespace=engine_namespace, ttl=args.cache_ttl, metrics=metrics
    )
    namespaces = NamespaceLevels(kube.get_namespace, ttl=args.cache_ttl)
    app = create_app(
        resolver,
        metrics=metrics,
        ready=kube.token_readable,
        on_shutdown=kube.aclose,
        namespaces=namespaces,
    )
    log.info(
        "serving on https://%s:%d (engines in %s, API %s, cache TTL %g s)",
        args.host,
        args.port,
        engine_namespace,
        kube_config.base_url,
        args.cache_ttl,
    )
    server = build_server(
        app,
        tls,
        host=args.host,
        port=args.port,
        keep_alive=args.keep_alive_timeout,
        shutdown_delay=args.shutdown_delay,
        log_level=args.log_level,
    )
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
