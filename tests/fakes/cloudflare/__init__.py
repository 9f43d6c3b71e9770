"""A faithful fake of the Cloudflare v4 API for Pages and Workers Builds, served by a real
uvicorn in a thread.

    with FakeCloudflare() as cf:
        cf.add_project("blog")
        pages_hook = cf.add_deploy_hook("blog", "main")
        cf.add_worker("my-app")
        worker_hook = cf.add_worker_deploy_hook("my-app", "main")
        ...  # point the relay's CLOUDFLARE_API_BASE at cf.base_url, token cf.token
        assert len(cf.create_calls("blog")) == 1
        assert len(cf.build_calls("my-app")) == 1

The contracts are `shared/reference/cloudflare-pages-api.md` ("Pages §n" below) and
`shared/reference/workers-builds-api.md` ("Builds §n"), with the OpenAPI subsets
`shared/cloudflare/pages-openapi.json` and `shared/cloudflare/workers-builds-openapi.json`.

The package reads like a request's path: `middleware.py` (call log, faults, rate limit, over
the records in `traffic.py`) → `app.py` (routing) → `auth.py` and `envelope.py` → the routes
(`pages_routes.py`, `workers_routes.py`) → the state (`pages_model.py`, `workers_model.py`,
`workers_hooks.py`) → records and JSON shapes (`pages_objects.py`, `workers_objects.py`,
`workers_render.py`, `workers_logs.py`). The control API lives under `/__fake__`
(`control.py`, `workers_control.py`); `server.py` wraps it in Python; `__main__.py` is the
sandbox: `python -m tests.fakes.cloudflare --port 8788 --project blog --hook blog:main
--worker my-app`.

Choices made where the references are UNCONFIRMED (each is also marked in the code):

Pages

* HTTP statuses of errors: 10000 -> 403, 8000007/8000009 -> 404, 8000024/8000035 -> 400 (§7).
  A wrong account id in the path gets 403/10000 as well; any unknown path or method gets
  404/7003 "No route for the URI", as does a trailing slash (on the Builds paths too).
* Create with a non-empty body that is not multipart/form-data (JSON, urlencoded): 400 with
  code 8000000 and a message naming the content type. An empty body is accepted whatever its
  content type (the docs example sends `application/json` with no body). Any branch name is
  accepted (the fake has no repository).
* Delete of the canonical (live production) deployment: 400, code 8000000, "Cannot delete the
  active production deployment", whatever `force` says; invented, configurable through
  `set_canonical_delete_error`. Deleting a build still in flight is allowed.
* Deploy hook: 200 with `result: {"id": <deployment id>}` only; unknown hook: 404 with code
  8000000 "Deploy hook not found."; the body and content type are ignored; hook calls count
  against the account's rate-limit budget.
* 429 body: code 971 (§1.4). `Ratelimit`/`Ratelimit-Policy` are sent on every answer, on the
  Pages and the Workers paths alike. Going over the limit blocks the user for one whole window.
* Retry creates a new deployment (new id) with the same branch, commit and trigger type.
  Rollback returns the target deployment (no new one), makes it canonical and gives it the
  production branch alias; a target that is not a successful production build gets 400/8000000.
* A skipped build (`set_build(outcome="skipped")`) is final at once: `is_skipped: true`,
  `skip_reason: "branch_config"`, latest_stage `queued`/`canceled`, no alias, no build slot.
* `list projects`: newest-first order is not promised; projects come in creation order, and
  `per_page` may go up to 100. `env` values other than production/preview get 400/8000024.
  `total_pages` is 0 for an empty list.
* Builds spend `duration / 5` seconds in each stage; waiting for a concurrency slot lengthens
  `queued`. The create (and retry) response is always the fresh `queued`/`active` snapshot.

Workers Builds

* Credentials (§1.2, trap 2): every credential problem on a `/accounts/{a}/builds/` path is
  HTTP 403 with 12006 "Invalid token": no token, a wrong one, another account's id, or the
  *account-scoped* token (`set_invalid_token`), which Pages and Workers Scripts paths accept.
  403 is a choice (the reference's own guess is 401). The Workers Scripts paths answer bad
  credentials like Pages (403/10000).
* Not found: an unknown trigger, build or hook is 404/12000 "Not found" (12000 is only the
  schema's example). A tag that names no Worker (a Worker *name* included, trap 1) is
  404/12040 on `builds/workers/{tag}`, `…/triggers` and `…/builds`; a Worker that exists but
  is not connected answers 12040 for its configuration and empty trigger and build lists. The
  deploy-hook paths take the name: unknown name 404/12000, a Worker without Builds 404/12040.
  Workers Scripts: unknown service 404/10090, unknown script 404/10007.
* Manual builds: a body that is not a JSON object, or has neither `branch` nor `commit_hash`
  (or a non-string one), is 400/12002 "Invalid request body"; the content type is not checked.
  Any branch is accepted, whatever the trigger's patterns; `commit_hash` alone builds the
  production branch; `seed_repo` is ignored; manual builds are never deduplicated;
  `build_trigger_source` is `"api"`; a made-up 40-hex commit when none is given.
* Lifecycle: `duration` is split 20 % `queued` (the least wait, even with a free slot), 20 %
  `initializing`, 60 % `running`. A build holds an account concurrency slot (default 6) from
  `initializing_on` to `stopped_on`; slots go out first come, first served. `terminated` stops
  after `duration` like any other outcome (the fake does not wait 20 minutes) and logs
  "Build was timed out"; `skipped` is stopped at once with no slot and null
  `initializing_on`/`running_on`. A build cancelled while queued skips the middle states.
* Cancel answers `build_outcome: "cancelled"`. Cancelling a stopped build answers 200 with the
  outcome and `stopped_on` unchanged, unless `set_worker_cancel_stopped_error` says otherwise.
* Build objects: `environment_variables` in `build_trigger_metadata` is the map of objects
  `{is_secret, created_on, value}` that Cloudflare's client parses (the schema says strings);
  `pull_request` is null; `trigger` is the trigger as it was at creation, without build-token
  fields. The builds list is newest first, `per_page` defaults to 50 (at most 100), bad paging
  is 400/12002, and `next_page` is `page < total_pages`.
* `builds/latest` is keyed by tag and leaves out Workers without builds; by-version is keyed by
  version id and only knows successful builds; more than 20 ids, or none, is 400/12002.
* Versions (how a client maps a build to the version it deployed is UNCONFIRMED): every
  successful build makes a Worker version (`worker_version_of(build_uuid)`; the build object
  itself carries no version field, §5.2). A successful *production* build also adds a
  deployment of that version (100 %) to `GET /accounts/{a}/workers/scripts/{name}/deployments`,
  stamped when the build stopped, newest first, after the Worker's initial upload. Its logs end
  with wrangler's `Current Version ID: <id>` (a preview build's with `Worker Version ID: <id>`).
* Logs: lines are `[epoch_seconds (float, ms precision), text]`; a read shows the lines
  printed so far (live logs); pages of 100 lines by default (`set_worker_log_page_size`); the
  cursor is base64url JSON `{"line": n}`, present on every page, the last page has
  `truncated: false`; an undecodable cursor is 400/12002. Failed builds end with a
  `✘ [ERROR] Build failed with 1 error:` block and `Failed: error occurred while running build
  command`; "Build was cancelled" and the skipped line are invented wording.
  `set_worker_build(log_lines=[...])` replaces the lines verbatim.
* Deploy hooks: deduplication is per hook (its newest build still `queued`/`initializing`),
  and the answer then carries that build's current status; a new build is reported `queued`.
  Duplicate hook names are allowed (no 409). A hook builds with the first trigger whose
  patterns match its branch. Only calls that create a build count against the sliding-minute
  limits (10 per Worker, 100 per account, settable): past them the answer is 429 with
  `Retry-After` (seconds until a slot frees, at least 1) and the invented body code 971
  "Too many deploy hook builds: ...". Hook calls also count against the global budget.
* `account/limits` answers nulls (a paid account) unless `set_worker_account_limits` says
  otherwise; reaching the minutes limit does not stop builds.
* Workers Scripts answers carry a plausible subset of the real objects (`id`, `tag`, ...).
"""

from __future__ import annotations

from .envelope import API_PREFIX, CONTROL_PREFIX
from .server import DEFAULT_ACCOUNT_ID, DEFAULT_TOKEN, FakeCloudflare, FakeControlError

FakePagesAPI = FakeCloudflare  # the name the relay's suite knows from tests.fakes.pages_api

__all__ = [
    "API_PREFIX",
    "CONTROL_PREFIX",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_TOKEN",
    "FakeCloudflare",
    "FakeControlError",
    "FakePagesAPI",
]
