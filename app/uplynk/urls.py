"""The api2 URL table: every operation, the module that answers it, the session it gets, and
where it runs (app/uplynk/dispatch.py). One module per URL family, named after the URL.

`read` ops get a read session, `write` ops a write session that the dispatcher commits; every op
runs in the thread pool except `asset/get`, whose by-ID path is one autocommit statement and is
measured faster inline. asset/list answers are kept while the tables they are made of are unchanged
(`kept_under`, lynkflow/kept_answers.py). quickclip decodes its poster frame in a read step before the write.
"""

from lynkflow.shared import UPLYNK_ROW
from lynkflow.uplynk import assets, channel, cloudslicer_jobs, frames, library, owners_api_key, subowners
from lynkflow.uplynk.dispatch import Op, read, write

URLS: dict[str, Op] = {
    "asset/get": read(assets.get, inline=True),
    "asset/list": read(assets.list_, kept_under=UPLYNK_ROW),
    "asset/changes": read(assets.changes),
    "asset/update": write(assets.update),
    "asset/delete": write(assets.delete),
    "asset/getframe": read(frames.getframe),
    "asset/getthumbs": read(frames.getthumbs),
    "channel/list": read(channel.list_, inline=True),  # no query: nothing to move off the event loop
    "cloudslicer/jobs/create": write(cloudslicer_jobs.create, unlocked_start=True),  # copies the source first
    "cloudslicer/jobs/quickclip": write(cloudslicer_jobs.quickclip, prepare=cloudslicer_jobs.quickclip_source),
    "cloudslicer/jobs/create_export": write(cloudslicer_jobs.create_export),
    "cloudslicer/jobs/get": read(cloudslicer_jobs.get),
    "cloudslicer/jobs/list": read(cloudslicer_jobs.list_),
    "cloudslicer/jobs/cancel": write(cloudslicer_jobs.cancel),
    "cloudslicer/jobs/delete": write(cloudslicer_jobs.delete),
    "library/get": read(library.get),
    "library/list": read(library.list_),
    "library/assets": read(library.assets),
    "library/update": write(library.update),
    "library/add": write(library.add),
    "library/remove": write(library.remove),
    "library/create": write(library.create),
    "library/share": write(library.share),
    "owners/api-key/add": write(owners_api_key.add),
    "owners/api-key/toggle": write(owners_api_key.toggle),
    "owners/api-key/delete": write(owners_api_key.delete),
    "subowners/create": write(subowners.create),
    "subowners/get": read(subowners.get),
    "subowners/list": read(subowners.list_),
    "subowners/update": write(subowners.update),
    "subowners/delete": write(subowners.delete),
}
