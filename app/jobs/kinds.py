"""Every job kind of the queue, one constant each: the name a handler registers under
(app/jobs/registry.py), the name a producer enqueues, and what the jobs table, the journal and the
dashboard show. Producers and handlers import these; no kind is spelled out anywhere else."""

INGEST = "ingest"
UPLYNK_FETCH = "uplynk.fetch"
UPLYNK_EXPORT = "uplynk.export"
VIS_GIF = "vis.gif"
VIS_VIDEO = "vis.video"
VIS_IMAGE = "vis.image"
