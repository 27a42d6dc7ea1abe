"""The REST API, /ws/live and the dashboard mount (`api.app.create_app`).

Routes talk to the running system only through `api.client.SystemClient` (Ray: `api.ray_client`, the only
module here that imports Ray; tests and dashboard work: `api.fake_client`) and read history straight from the
database (`api.queries`)."""
