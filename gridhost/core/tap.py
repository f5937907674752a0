"""``twistd gridhost``: options and service construction.

This is the one module of gridhost that imports the global reactor, and only
inside ``makeService``.
"""

from twisted.python import usage

from gridhost.core.config import load_config_file
from gridhost.core.discovery import discover_apps


class Options(usage.Options):
    synopsis = "[--config FILE] [--log-json PATH]"
    longdesc = ("Serve grid applications from a TOML config. Without --config, the built-in "
                "default serves the corefarm render farm at / and naclgrid at /naclgrid on "
                "tcp:8080 with the memory store.")
    optParameters = [
        ["config", "c", None, "Path to the gridhost TOML config."],
        ["log-json", None, None, "Also write logs as JSON lines to PATH ('-' for stdout)."],
    ]

    def postOptions(self):
        # Validate everything before any service exists; twistd prints the
        # UsageError and exits non-zero.
        config, errors = load_config_file(self["config"])
        if errors:
            raise usage.UsageError(
                f"invalid configuration ({len(errors)} error{'s' if len(errors) != 1 else ''}):\n  "
                + "\n  ".join(e.replace("\n", "\n    ") for e in errors))
        self.config = config
        self.apps, _ = discover_apps(config.server.plugin_dirs)


def makeService(options):
    from twisted.internet import reactor  # the single sanctioned global-reactor import

    from gridhost.core.accesslog import AccessLogError
    from gridhost.core.logs import start_json_log
    from gridhost.core.service import AppBuildError, GridHostService

    config = options.config
    # twistd re-raises the signal that stopped it once shutdown is done, so a
    # clean SIGTERM stop would exit 143. A drained, orderly stop is a success:
    # forget the signal after shutdown and exit 0.
    reactor.addSystemEventTrigger("after", "shutdown", setattr, reactor, "_exitSignal", None)
    json_path = options["log-json"] or ("-" if config.server.log_format == "json" else None)
    if json_path:
        start_json_log(json_path)
    try:
        return GridHostService.from_config(config, options.apps, reactor)
    except AccessLogError as e:
        import sys

        print(f"gridhost: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    except AppBuildError as e:
        # The app's own traceback helps its author; the first line says which app.
        import sys
        import traceback

        from gridhost.core.interfaces import AppStartError

        if isinstance(e.__cause__, AppStartError):
            print(f"gridhost: app {e.app!r} cannot start: {e.__cause__}", file=sys.stderr)
            raise SystemExit(1) from None
        print(f"gridhost: {e}", file=sys.stderr)
        traceback.print_exception(e.__cause__, file=sys.stderr)
        raise SystemExit(1) from None
