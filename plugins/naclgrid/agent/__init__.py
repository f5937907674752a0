"""The naclgrid agent: ``gridhost agent --url URL --key KEY [--slots N]``.

It long-polls the server for tasks, runs each in the WebAssembly sandbox on a
pool of ``slots`` threads, acks the results (never losing one while the
server is away), heartbeats the leases of long tasks and drains on SIGTERM.
"""
