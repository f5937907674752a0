"""Stands in for the render master when corefarm.render is not installed:
every page still works, and submissions get a clear refusal."""

from zope.interface import implementer

from naclgrid.errors import GridError, NoSuchJob

from corefarm.site.interfaces import IRenderMaster


@implementer(IRenderMaster)
class MissingMaster:
    async def submit(self, owner, files, options):
        raise GridError("Rendering is not available on this server yet.", code="unavailable",
                        status=503)

    def start(self, job_id):
        return None

    async def progress(self, job_id, owner):
        raise NoSuchJob(f"no job {job_id}")

    async def preview_png(self, job_id, owner):
        raise NoSuchJob(f"no job {job_id}")

    async def output(self, job_id, owner):
        raise NoSuchJob(f"no job {job_id}")
