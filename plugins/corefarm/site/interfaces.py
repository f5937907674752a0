"""What the site needs from the render master (``corefarm.render.master.
RenderMaster``). Every method takes the owner and answers another user's job
exactly like a missing one, with naclgrid's NoSuchJob."""

from zope.interface import Interface


class IRenderMaster(Interface):

    def submit(owner, files, options):
        """Create, start and run a ``yafaray`` job from ``files`` ({name:
        bytes}) and ``options`` {"scene", "width", "height", "samples",
        "format"}; the job id. Marks the job's meta with ``render_master``
        so the API-job watcher leaves it alone."""

    def start(job_id):
        """Run the master for a started job in the background, once per
        process (the watcher's entry for jobs created through the REST API)."""

    def progress(job_id, owner):
        """``{"state", "tiles_total", "tiles_done", "waiting_reason",
        "warnings", "error", "output", "width", "height"}``."""

    def preview_png(job_id, owner):
        """PNG bytes of the tiles rendered so far; a GridError before the
        tiles are planned."""

    def output(job_id, owner):
        """``(bytes, content_type, filename)`` of the finished image; a
        GridError (NoSuchFile) while it is not ready."""
