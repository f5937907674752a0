"""The ``[app.corefarm]`` options: defaults, checks and the parsed form."""

from dataclasses import dataclass, fields

MiB = 1024 * 1024


@dataclass(frozen=True)
class SiteSettings:
    starting_grant: float = 3600.0          # CPU-seconds a new participant may spend
    max_upload_bytes: int = 64 * MiB        # one scene upload (.xml or archive)
    max_archive_bytes: int = 256 * MiB      # unpacked size of an uploaded archive
    max_archive_members: int = 2000
    max_width: int = 4096
    max_height: int = 4096
    max_samples: int = 4096
    naclgrid_path: str = "/naclgrid"        # where naclgrid's REST API is mounted
    public_url: str = ""                    # shown in agent instructions; "" = from the request
    tile_estimate: float = 2.0              # CPU-seconds per tile before a job's first tile lands
    credit_interval: float = 2.0            # seconds between credit reconciliations
    watch_interval: float = 30.0            # safety-net scan for API-started render jobs (events start them at once)
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    login_max_failures: int = 5
    login_max_attempts: int = 30
    login_window: int = 900
    volunteer_keys_per_hour: int = 20       # per client address
    feedback_per_hour: int = 10             # per client address
    max_feedback_chars: int = 4000
    max_jobs_listed: int = 200

    @classmethod
    def from_section(cls, section):
        return cls(**{k: v for k, v in section.items() if k in cls.__dataclass_fields__})


_BOUNDS = {
    "starting_grant": (0, 1e9),
    "max_upload_bytes": (1024, 16 * 1024 * MiB),
    "max_archive_bytes": (1024, 64 * 1024 * MiB),
    "max_archive_members": (1, 1_000_000),
    "max_width": (1, 65536),
    "max_height": (1, 65536),
    "max_samples": (1, 1_000_000),
    "tile_estimate": (0.001, 86400),
    "credit_interval": (0.1, 3600),
    "watch_interval": (0.1, 3600),
    "password_time_cost": (1, 20),
    "password_memory_kib": (8, 4 * 1024 * 1024),
    "login_max_failures": (1, 1000),
    "login_max_attempts": (1, 100_000),
    "login_window": (1, 86400 * 7),
    "volunteer_keys_per_hour": (1, 100_000),
    "feedback_per_hour": (1, 100_000),
    "max_feedback_chars": (10, 1_000_000),
    "max_jobs_listed": (1, 100_000),
}


def check_section(section):
    """``"key: problem"`` strings for a ``[app.corefarm]`` table."""
    known = {f.name: f.type for f in fields(SiteSettings)}
    errors = []
    for key in sorted(section):
        value = section[key]
        if key not in known:
            errors.append(f"{key}: unknown option (known: {', '.join(sorted(known))})")
            continue
        default = getattr(SiteSettings, key)
        if isinstance(default, str):
            if not isinstance(value, str):
                errors.append(f"{key}: expected a string")
            elif key == "naclgrid_path" and not value.startswith("/"):
                errors.append(f"{key}: expected a path starting with '/'")
            elif key == "public_url" and value and not value.startswith(("http://", "https://")):
                errors.append(f"{key}: expected an http(s) URL")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(default, int) and not isinstance(value, int)):
            errors.append(f"{key}: expected {'an integer' if isinstance(default, int) else 'a number'}")
            continue
        low, high = _BOUNDS[key]
        if not low <= value <= high:
            errors.append(f"{key}: must be between {low:g} and {high:g}")
    return errors
