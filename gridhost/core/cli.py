"""The ``gridhost`` command.

Subcommands that belong to an app live in that app and are found here by
dotted name, so ``gridhost --help`` works even when an app is broken.
"""

import importlib
import sys

from gridhost.core.config import load_config_file

COMMANDS = {
    "check-config": ("gridhost.core.cli:check_config", "validate a config file and report every error"),
    "serve": ("gridhost.core.cli:serve", "run the host in the foreground (twistd -n gridhost ...)"),
    "agent": ("naclgrid.agent.cli:main", "run a naclgrid agent that computes tasks"),
    "keys": ("naclgrid.cli_keys:main", "create, list and revoke naclgrid API keys"),
}


def usage():
    lines = ["usage: gridhost COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<13} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'gridhost COMMAND --help' for a command's options."]
    return "\n".join(lines)


def check_config(argv):
    """``gridhost check-config FILE``: exit 0 when the file is valid."""
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: gridhost check-config FILE", file=sys.stderr)
        return 2
    config, errors = load_config_file(argv[0])
    if errors:
        print(f"{argv[0]}: {len(errors)} error{'s' if len(errors) != 1 else ''}", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    sites = sum(len(h.sites) for h in config.hosts)
    print(f"{argv[0]}: ok ({len(config.hosts)} host{'s' if len(config.hosts) != 1 else ''}, "
          f"{sites} site{'s' if sites != 1 else ''}, apps: {', '.join(config.apps)})")
    return 0


def serve(argv):
    from twisted.scripts.twistd import run

    sys.argv = ["twistd", "-n", "--pidfile=", "gridhost", *argv]
    run()
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"gridhost: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, _, func = COMMANDS[name][0].partition(":")
    try:
        target = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as e:
        print(f"gridhost: the {name!r} command is not available: {e}", file=sys.stderr)
        return 2
    return target(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
