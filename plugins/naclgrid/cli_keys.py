"""``gridhost keys``: create, list and revoke naclgrid API keys.

Keys go where the configured server looks for them: the Redis store named by
``[server] store``, or for a memory store ``DATA_DIR/naclgrid/keys.json``
(the running server re-reads it). Only the key's hash is stored; the key is
printed once, on stdout, so scripts can capture it.
"""

import argparse
import sys
import time
from pathlib import Path

from naclgrid.auth.keys import ROLES, valid_user

REDIS_TIMEOUT = 10.0


class _WallClock:
    """IReactorTime's ``seconds`` for the memory-store path, which needs no reactor."""

    def seconds(self):
        return time.time()


def _parser():
    parser = argparse.ArgumentParser(prog="gridhost keys", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="gridhost TOML file (default: the built-in default)")
    parser.add_argument("--timeout", type=float, default=REDIS_TIMEOUT,
                        help="seconds to wait for a Redis store (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--user", help="the user the key acts for (default: derived from the key)")
    create.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
    revoke = commands.add_parser("revoke", help="revoke a key (the key itself or its id)")
    revoke.add_argument("key", metavar="KEY_OR_ID")
    revoke.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
    listing = commands.add_parser("list", help="list live keys (never the secrets)")
    listing.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
    return parser


def _load(path):
    from gridhost.core.config import load_config_file

    config, errors = load_config_file(path)
    if errors:
        print(f"gridhost keys: the config has errors:", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return None
    return config


def main(argv):
    """Entry point of ``gridhost keys``; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "create" and args.user is not None and not valid_user(args.user):
        print("gridhost keys: user names are 1-64 characters of A-Z a-z 0-9 _ . @ -", file=sys.stderr)
        return 2
    config = _load(getattr(args, "sub_config", None) or args.config)
    if config is None:
        return 2
    section = config.apps.get("naclgrid", {})
    if config.server.store == "memory":
        from naclgrid.auth import KeyService
        from naclgrid.auth.filestore import KEYS_FILE, FileKeyStore

        folder = Path(config.server.data_dir) / "naclgrid"
        folder.mkdir(parents=True, exist_ok=True)
        keys = KeyService(FileKeyStore(str(folder / KEYS_FILE)), _WallClock())
        outcome = []
        _run(keys, args).addBoth(outcome.append)  # the file store answers at once
        return _finish(outcome[0])
    from twisted.internet import reactor

    return _with_redis(reactor, config.server.store, section.get("namespace", "ng:"), args,
                       args.timeout)


def _with_redis(reactor, url, namespace, args, timeout):
    from twisted.internet.defer import ensureDeferred

    from gridhost.core.stores import StoreConnection
    from naclgrid.auth import KeyService
    from naclgrid.stores.redis import RedisGridStore

    connection = StoreConnection.from_setting(url, reactor)
    store = RedisGridStore(connection, namespace=namespace, clock=reactor)
    outcome = []

    async def session():
        try:
            try:
                await connection.ping().addTimeout(timeout, reactor)
            except Exception:
                raise ConnectionError(f"no answer from {url} within {timeout:g} s") from None
            outcome.append(await _run(KeyService(store, reactor), args))
        except Exception as error:  # reported below as a CLI message, never a traceback
            outcome.append(error)
        finally:
            await connection.close()

    def stop(_):
        reactor.stop()

    reactor.callWhenRunning(lambda: ensureDeferred(session()).addBoth(stop))
    reactor.run()
    return _finish(outcome[0] if outcome else RuntimeError("interrupted"))


def _run(keys, args):
    from twisted.internet.defer import ensureDeferred

    return ensureDeferred(_command(keys, args))


async def _command(keys, args):
    if args.command == "create":
        key, record = await keys.create(args.role, args.user)
        print(key)
        print(f"created {record['role']} key {record['key_id']} for user {record['user']}",
              file=sys.stderr)
        return 0
    if args.command == "revoke":
        if await keys.revoke(args.key):
            print(f"revoked {args.key.split('_')[1] if args.key.startswith('ngk_') else args.key}")
            return 0
        print(f"gridhost keys: no such key {args.key!r}", file=sys.stderr)
        return 1
    records = await keys.list()
    print(f"{'KEY ID':<18}{'ROLE':<11}{'USER':<28}CREATED (UTC)")
    for record in records:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record["created_at"]))
        print(f"{record['key_id']:<18}{record['role']:<11}{record['user']:<28}{created}")
    return 0


def _finish(result):
    if isinstance(result, int):
        return result
    error = getattr(result, "value", result)
    if isinstance(error, ValueError):
        print(f"gridhost keys: {error}", file=sys.stderr)
        return 2
    print(f"gridhost keys: cannot reach the store: {error}", file=sys.stderr)
    return 1
